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
    method: Annotated[list[str] | None, typer.Option(help="dynamic-int8, bf16, onnx or onnx-int8; repeat it for "
                                                          "several (the original is measured once for all).")
                      ] = None,
    quantize_embeddings: Annotated[bool, typer.Option(help="int8 embeddings too (int8 methods).")] = True,
    split: str = "validation",
    batch_sizes: Annotated[str, typer.Option(help="Throughput batch sizes.")] = "8,64",
    threads: Annotated[int | None, typer.Option(help="Threads for both models (default: the cores neither "
                                                     "busy nor taken by your other bakeoff commands; an even split "
                                                     "between several: cores/N each).")
                       ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing compressed model of this method.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts (a list for several methods).")
                       ] = False,
) -> None:
    """Compress a trained run and measure accuracy, flips, size, latency and memory against the original."""
    from bakeoff.api import compress_methods

    methods = method or ["dynamic-int8"]
    results = compress_methods(run, methods, quantize_embeddings=quantize_embeddings, split=split,
                               batch_sizes=_sizes(batch_sizes), threads=threads, overwrite=overwrite)
    if as_json:
        print_json(results[0].to_dict() if len(results) == 1 else [result.to_dict() for result in results])
        return
    source = results[0].original_source
    if source.get("scores") == "reused":
        console.print(f"original: scores and predictions reused from {source['from']} (measured "
                      f"{source['measured_at']}: same checkpoint, rows, threads and machine); its latency timed "
                      f"again beside the copies", highlight=False)
    if len(results) > 1:
        console.print(f"original: measured once for {', '.join(result.method for result in results)}",
                      highlight=False)
    for result in results:
        _print_compression(run, result)


def _print_compression(run: str, result: Any) -> None:
    from bakeoff.problems import get_problem

    _print_comparison([asdict(result.original), asdict(result.compressed)],
                      title=f"{run}: fp32 vs {result.method} on {result.split} "
                            f"({result.rows} rows, {result.original.bench['threads']} threads)")
    change = result.change
    test = change.mcnemar
    verdict = "a significant difference" if test["significant"] else "within noise"
    problem = get_problem(result.problem_type)  # its own words for a changed answer and for the paired test
    console.print(f"{_metric_change(result.primary_metric, change.metrics[result.primary_metric])}; "
                  f"{change.flips} {problem.changed_answers} ({change.flip_share:.1%}); "
                  f"{problem.paired_test} p={test['p_value']:.3g} ({verdict}); {change.size_ratio:.2f}x smaller; "
                  f"batch-1 p50 {speed_ratio(change.latency_p50_speedup, change.timing_busy)}", highlight=False)
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
    requests: Annotated[int | None, typer.Option(help="Batch-1 requests to time, exactly (default: at least 30 "
                                                      "and 10 s, at most 100).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Measure an existing model's latency, throughput and memory, without training."""
    from bakeoff.api import bench as bench_model

    result = bench_model(model, method=method, backend=backend, batch_sizes=_sizes(batch_sizes), threads=threads,
                         precision=precision, task=task, data=data, device=device, requests=requests)
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


def _metric_change(metric: str, delta: float) -> str:
    """A metric's change as the leaderboard counts it: points of a 0..1 metric, the metric's own units otherwise.

    >>> _metric_change("spearman", -0.0123), _metric_change("loss", 0.5)
    ('spearman -1.23 points', 'loss +0.5')
    """
    from bakeoff.report.decision import points

    scale = points(metric)
    return f"{metric} {delta * scale:+.2f} points" if scale != 1 else f"{metric} {delta:+.4g}"


def _metric_columns(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(header, metric) of the two metrics a table shows: a classifier's accuracy and F1; a regression's or a
    multi-label model's first two, primary first (Spearman and Pearson; macro and micro F1).

    >>> _metric_columns({"spearman": 0.8, "pearson": 0.7, "mse": 1.0}), len(_metric_columns({}))
    ([('spearman', 'spearman'), ('pearson', 'pearson')], 2)
    """
    if not metrics or "accuracy" in metrics:
        return [("acc", "accuracy"), ("F1", "f1")]
    return [(name, name) for name in list(metrics)[:2]]


def _print_comparison(models: list[dict[str, Any]], title: str) -> None:
    busy = [entry for entry in models if (entry["bench"].get("conditions") or {}).get("busy")]
    counts = sorted({entry["bench"]["latency_ms"].get("requests") for entry in models} - {None})
    caption = (f"latency: batch 1, ms, over {'/'.join(map(str, counts)) or '?'} requests; MB: weights on disk; "
               "peak: resident MB")
    if busy:
        caption += (f"\n* measured while the machine was busy: ratio unreliable "
                    f"({busy[0]['bench']['conditions']['busy']})")
    view = Table(title=title, caption=caption)
    view.add_column("model", no_wrap=True)
    shown = _metric_columns(models[0]["metrics"])
    for column in (*(header for header, _ in shown), "MB", "p50", "p95", "p99", "peak"):
        view.add_column(column, justify="right", no_wrap=True)
    for entry in models:
        latency = entry["bench"]["latency_ms"]
        name = entry["method"] + (" (onnx)" if entry["backend"] == "onnxruntime" and "onnx" not in entry["method"]
                                  else "") + (" *" if entry in busy else "")
        view.add_row(name, *(fmt(entry["metrics"].get(metric)) for _, metric in shown),
                     f"{entry['weights_bytes'] / 1e6:.1f}", f"{latency['p50']:.2f}", f"{latency['p95']:.2f}",
                     f"{latency['p99']:.2f}", f"{entry['bench']['peak_rss_mb']:.0f}")
    console.print(view)
