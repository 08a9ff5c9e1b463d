"""What a run folder holds beside the store's own files (``track/layout.py``), each name defined once here::

    <store>/<project>/<run>/
      result.json                      the typed TrainResult (runs/results.py)
      predictions.json                 {split: {"predicted", "true"}} label ids in row order, for paired tests
      checkpoint/                      a plain Hugging Face folder (safetensors, config with label names, tokenizer)
      compressed/<method>/             one folder per compression method (compression/artefact.py)
      compressed/<method>/report.json  the typed CompressReport: both models measured side by side
      compressed/original-<split>.json the fp32 original's scores on a split and the key they hold under, so a
                                       later `compress` reuses them (runs/compress_run.py)
"""

from __future__ import annotations

from pathlib import Path

RESULT_FILE = "result.json"
PREDICTIONS_FILE = "predictions.json"
CHECKPOINT_DIR = "checkpoint"
COMPRESSED_DIR = "compressed"
REPORT_FILE = "report.json"


def compressed_dir(run_dir: Path, method: str) -> Path:
    return run_dir / COMPRESSED_DIR / method


def compression_reports(run_dir: Path) -> list[Path]:
    """Every ``report.json`` of a run's compressed models, by method name."""
    return sorted((run_dir / COMPRESSED_DIR).glob(f"*/{REPORT_FILE}"))


def original_scores_file(run_dir: Path, split: str) -> Path:
    return run_dir / COMPRESSED_DIR / f"original-{split}.json"
