"""Write the small IMDB folder that examples/imdb_sweeps_small.yaml trains on.

    BAKEOFF_DATA_DIR=/work/shared/data python examples/imdb_small_data.py          # -> imdb-small/

Why a folder of its own: the `imdb` task scores every run on IMDB's 25,000 test reviews (and on 2,500 held-out
training reviews), which alone takes longer on two CPU cores than the whole small study may. This keeps the task's
columns and labels and draws, stratified and seeded, ``--train`` reviews from IMDB's training file (train.csv.gz)
and ``--validation`` reviews from its test file (dev.csv.gz: a held-out set no training row comes from). No test
file is written, so runs are scored on the validation rows only.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import random
import sys
from pathlib import Path


def stratified_sample(rows: list[dict[str, str]], count: int, seed: int) -> list[dict[str, str]]:
    """``count`` rows with the labels in their original shares, in a seeded random order.

    >>> rows = [{"label": str(i % 2), "text": str(i)} for i in range(10)]
    >>> sorted(r["label"] for r in stratified_sample(rows, 4, 0))
    ['0', '0', '1', '1']
    """
    rng = random.Random(seed)
    by_label: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row["label"], []).append(row)
    chosen: list[dict[str, str]] = []
    for label in sorted(by_label):
        group = by_label[label]
        chosen += rng.sample(group, round(count * len(group) / len(rows)))
    rng.shuffle(chosen)
    return chosen


def read_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(rows: list[dict[str, str]], path: Path) -> None:
    """gzipped CSV (text, label), written to a temp file and renamed: never half a file."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["text", "label"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(f".{path.name}.tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="imdb-small", help="folder to write (default: imdb-small)")
    parser.add_argument("--train", type=int, default=800, help="training reviews (default 800)")
    parser.add_argument("--validation", type=int, default=300, help="validation reviews (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    source = Path(os.environ.get("BAKEOFF_DATA_DIR", "")) / "imdb"
    if not (source / "train.csv.gz").is_file() or not (source / "test.csv.gz").is_file():
        print(f"no IMDB in {source}: set BAKEOFF_DATA_DIR to a folder holding imdb/train.csv.gz and "
              "imdb/test.csv.gz", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_rows(stratified_sample(read_rows(source / "train.csv.gz"), args.train, args.seed), out / "train.csv.gz")
    write_rows(stratified_sample(read_rows(source / "test.csv.gz"), args.validation, args.seed), out / "dev.csv.gz")
    print(f"{out}: {args.train} training and {args.validation} validation reviews")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
