"""Write the small SST-2 and MRPC folders that examples/three_families.yaml trains on.

    BAKEOFF_DATA_DIR=../shared/data python examples/glue_small_data.py          # -> glue-small/{sst2,mrpc}/

Why folders of their own: all of SST-2's 67k training sentences is hours of MPNet-base on two CPU cores, and a
study file cannot ask for a row count per task. The defaults (2,000 training rows per task, and as many validation
rows as dev has: SST-2 872, MRPC 408) are what the README's three-family table ran; ``--validation`` below dev's
size cuts the scoring time too (each compressed copy scores the validation split). This draws, stratified and seeded, ``--train`` rows from
each task's train.tsv and ``--validation`` rows from its dev.tsv, and copies the lines byte for byte (same columns,
same header), so the ``sst2`` and ``mrpc`` tasks read them as they read GLUE's files. No test file is written:
runs are scored on the validation rows only.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

LABEL_COLUMN = {"sst2": "label", "mrpc": "Quality"}


def stratified_lines(lines: list[str], label_index: int, count: int, seed: int) -> list[str]:
    """``count`` data lines with the labels in their original shares, in a seeded random order.

    >>> rows = [f"text {i}\\t{i % 2}" for i in range(10)]
    >>> sorted(line[-1] for line in stratified_lines(rows, 1, 4, 0))
    ['0', '0', '1', '1']
    """
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = {}
    for line in lines:
        by_label.setdefault(line.split("\t")[label_index], []).append(line)
    chosen: list[str] = []
    for label in sorted(by_label):
        group = by_label[label]
        chosen += rng.sample(group, min(len(group), round(count * len(group) / len(lines))))
    rng.shuffle(chosen)
    return chosen


def write_subset(source: Path, target: Path, label_column: str, count: int, seed: int) -> int:
    """The header and ``count`` stratified lines of ``source``, written to ``target`` (temp file, then rename)."""
    header, *lines = source.read_text(encoding="utf-8").splitlines()
    columns = header.lstrip("\ufeff").split("\t")
    chosen = stratified_lines([line for line in lines if line.strip()], columns.index(label_column), count, seed)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text("\n".join([header, *chosen]) + "\n", encoding="utf-8")
    tmp.replace(target)
    return len(chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="glue-small", help="folder to write (default: glue-small)")
    parser.add_argument("--train", type=int, default=2000, help="training rows per task (default 2000)")
    parser.add_argument("--validation", type=int, default=1000,
                        help="validation rows per task, at most dev's (default 1000: all of SST-2's and MRPC's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = Path(os.environ.get("BAKEOFF_DATA_DIR", ""))
    for task, label in LABEL_COLUMN.items():
        if not (data / task / "train.tsv").is_file() or not (data / task / "dev.tsv").is_file():
            print(f"no {task} in {data}: set BAKEOFF_DATA_DIR to a folder holding {task}/train.tsv and "
                  f"{task}/dev.tsv (GLUE's layout)", file=sys.stderr)
            return 2
        out = Path(args.out) / task
        train = write_subset(data / task / "train.tsv", out / "train.tsv", label, args.train, args.seed)
        dev = write_subset(data / task / "dev.tsv", out / "dev.tsv", label, args.validation, args.seed)
        print(f"{out}: {train} training and {dev} validation rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
