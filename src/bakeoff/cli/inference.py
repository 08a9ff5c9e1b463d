"""``bakeoff compress`` and ``bakeoff bench``: make a smaller model, measure what it costs and gains."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from bakeoff.cli._common import console, fmt, friendly_errors, print_json

Method = Annotated[str | None, typer.Option(help="Use the run's compressed model of this method.")]


def speed_ratio(speedup: float, busy: str | None = None) -> str:
    """A speed-up as people say it: "2.10x faster" or "2.10x slower", never "0.48x faster"; no verdict when
    ``busy`` (why the timings are unreliable)."""
    if busy:  # a ratio of timings taken while other processes competed for the cores is no fact
        return f"{speedup:.2f}x (measured while the machine was busy: ratio unreliable)"
    return f"{speedup:.2f}x faster" if speedup >= 1 else f"{1 / speedup:.2f}x slower"


def _sizes(value: str) -> tuple[int, ...]:
    from bakeoff.errors import BakeoffError

    try:
        sizes = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise BakeoffError(f"--batch-sizes {value!r}: give positive whole numbers separated by commas, e.g. 1,8,64")
    return sizes


@friendly_errors
def compress(
    run: Annotated[str, typer.Argument(help="Run (id, prefix, project/name) or checkpoint folder.")],
    method: Annotated[str, typer.Option(help="dynamic-int8, bf16, onnx or onnx-int8.")] = "dynamic-int8",
    quantize_embeddings: Annotated[bool, typer.Option(help="int8 embeddings too (int8 methods).")] = True,
    split: str = "validation",
    batch_sizes: Annotated[str, typer.Option(help="Throughput batch sizes.")] = "8,64",
    threads: Annotated[int | None, typer.Option(help="Threads for both models (default: the cores neither "
                                                     "busy nor taken by your other bakeoff commands; an even split "
                                                     "between several: cores/N each).")
                       ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing compressed model of this method.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Compress a trained run and measure accuracy, flips, size, latency and memory against the original."""
    from bakeoff.api import compress as compress_run

    result = compress_run(run, method, quantize_embeddings=quantize_embeddings, split=split,
                          batch_sizes=_sizes(batch_sizes), threads=threads, overwrite=overwrite)
    if as_json:
        print_json(result.to_dict())
        return
    _print_comparison([asdict(result.original), asdict(result.compressed)],
                      title=f"{run}: fp32 vs {method} on {split} "
                            f"({result.rows} rows, {result.original.bench['threads']} threads)")
    change = result.change
    test = change.mcnemar
    verdict = "a significant difference" if test["significant"] else "within noise"
    console.print(f"{result.primary_metric} {change.metrics[result.primary_metric] * 100:+.2f} points; "
                  f"{change.flips} predictions flip ({change.flip_share:.1%}); McNemar p={test['p_value']:.3g} "
                  f"({verdict}); {change.size_ratio:.2f}x smaller; batch-1 p50 "
                  f"{speed_ratio(change.latency_p50_speedup, change.timing_busy)}", highlight=False)
    if change.timing_note:
        console.print(f"[yellow]note:[/] {change.timing_note}: measure again on a quiet machine "
                      f"(bakeoff bench, or --threads to leave cores to the rest)", highlight=False)
    if "ece" in result.original.metrics and "ece" in result.compressed.metrics:  # calibration moves too
        console.print(f"calibration: ECE {result.original.metrics['ece']:.4f} -> "
                      f"{result.compressed.metrics['ece']:.4f}, Brier {result.original.metrics['brier']:.4f} -> "
                      f"{result.compressed.metrics['brier']:.4f}", highlight=False)
    console.print(f"stored in {result.path}")


@friendly_errors
def bench(
    model: Annotated[str, typer.Argument(help="Run, checkpoint folder or compressed model folder.")],
    method: Method = None,
    backend: Annotated[str, typer.Option(help="auto (the model's own), torch, or onnxruntime (exports a "
                                                 "PyTorch checkpoint first).")] = "auto",
    batch_sizes: Annotated[str, typer.Option(help="Throughput batch sizes.")] = "1,8,64",
    threads: Annotated[int | None, typer.Option(help="Torch threads (default: the cores neither busy nor taken "
                                                     "by your other bakeoff commands; an even split between "
                                                     "several: give each cores/N).")
                       ] = None,
    precision: Annotated[str, typer.Option(help="fp32, bf16 or auto for a PyTorch checkpoint.")] = "fp32",
    task: Annotated[str | None, typer.Option(help="Rows to measure on (default: the run's task, else demo).")] = None,
    data: Annotated[str | None, typer.Option(help="A folder of split files, or one file.")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto (the int8 methods are CPU-only).")]
    = "cpu",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Measure an existing model's latency, throughput and memory, without training."""
    from bakeoff.api import bench as bench_model

    result = bench_model(model, method=method, backend=backend, batch_sizes=_sizes(batch_sizes), threads=threads,
                         precision=precision, task=task, data=data, device=device)
    if as_json:
        print_json(result)
        return
    _print_comparison([result], title=f"{model} ({result['rows']} {result['split']} rows, "
                                      f"{result['bench']['threads']} threads)")
    view = Table(title="throughput, samples/s by tokens per row")
    sizes = sorted({row["batch_size"] for row in result["bench"]["throughput"]})
    view.add_column("tokens")
    for size in sizes:
        view.add_column(f"batch {size}", justify="right")
    buckets: dict[str, dict[int, float]] = {}
    for row in result["bench"]["throughput"]:
        buckets.setdefault(row["tokens"], {})[row["batch_size"]] = row["samples_per_second"]
    for bucket, rates in buckets.items():
        view.add_row(bucket, *(f"{rates[s]:.0f}" if s in rates else "-" for s in sizes))
    console.print(view)
    console.print(f"CPU flags: {', '.join(result['bench']['hardware']['cpu_flags']) or 'none of note'}")


def _print_comparison(models: list[dict[str, Any]], title: str) -> None:
    busy = [entry for entry in models if (entry["bench"].get("conditions") or {}).get("busy")]
    caption = "latency: batch 1, ms; MB: weights on disk; peak: resident MB"
    if busy:
        caption += (f"\n* measured while the machine was busy: ratio unreliable "
                    f"({busy[0]['bench']['conditions']['busy']})")
    view = Table(title=title, caption=caption)
    view.add_column("model", no_wrap=True)
    for column in ("acc", "F1", "MB", "p50", "p95", "p99", "peak"):
        view.add_column(column, justify="right", no_wrap=True)
    for entry in models:
        latency = entry["bench"]["latency_ms"]
        name = entry["method"] + (" (onnx)" if entry["backend"] == "onnxruntime" and "onnx" not in entry["method"]
                                  else "") + (" *" if entry in busy else "")
        view.add_row(name, fmt(entry["metrics"].get("accuracy")), fmt(entry["metrics"].get("f1")),
                     f"{entry['weights_bytes'] / 1e6:.1f}", f"{latency['p50']:.2f}", f"{latency['p95']:.2f}",
                     f"{latency['p99']:.2f}", f"{entry['bench']['peak_rss_mb']:.0f}")
    console.print(view)
