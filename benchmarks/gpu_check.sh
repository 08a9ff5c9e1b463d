#!/usr/bin/env bash
# On a bare GPU machine (torch, transformers, onnxruntime, ... but no bakeoff, no pytest, no accelerate and no
# package index), from the repository root:
#
#     bash benchmarks/gpu_check.sh            # results in $OUT/gpu-check/ (or /tmp/gpu-check/ without $OUT)
#
# 1. installs the carried wheels (.whl/: accelerate, psutil, pytest, pluggy, iniconfig, setuptools) and bakeoff
#    itself with `pip install --no-index --no-deps --no-build-isolation .`;
# 2. turns the carried fp16 MiniLM-L6 (.gpu/minilm-l6) back into fp32 safetensors, in a scratch copy;
# 3. runs `pytest -m gpu tests/gpu` (JUnit XML and the log kept);
# 4. runs benchmarks/gpu.py (MiniLM-L6 on SST-2 and BERT-base-sized on IMDB against Trainer, latency, embeddings);
# 5. writes everything into one folder: environment.txt, pytest.txt, pytest-gpu.xml, benchmark/results.{json,md},
#    log.txt, and SUMMARY.md.
#
# Prepare what travels, here (ignored by git; ~52 MiB with the repository's ~2 MiB, under the 64 MiB limit):
#     pip download --no-deps --only-binary=:all: -d .whl accelerate psutil pytest pluggy iniconfig setuptools
#     python benchmarks/gpu_prepare.py prepare --data ../shared/data
#
# BAKEOFF_GPU_REHEARSAL=1 rehearses it on a CPU: bakeoff and the wheels go into a scratch --target folder instead
# (never into the environment in use), `pytest -m gpu` is expected to fail loudly (no CUDA) and is recorded as
# such, and the benchmark runs as `--device cpu --quick`.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
REHEARSAL=${BAKEOFF_GPU_REHEARSAL:-0}
RESULTS=${OUT:-/tmp}/gpu-check
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bakeoff-gpu-check.XXXXXX")
mkdir -p "$RESULTS"
exec > >(tee "$RESULTS/log.txt") 2>&1
echo "== bakeoff gpu_check $(date -u '+%Y-%m-%d %H:%M:%S UTC'), rehearsal=$REHEARSAL, results in $RESULTS"

for needed in .whl .gpu/minilm-l6 .gpu/data/sst2/train.tsv .gpu/data/imdb/train.csv.gz; do
    if [ ! -e "$needed" ]; then
        echo "missing $needed: prepare it (see the top of benchmarks/gpu_check.sh) and carry .whl and .gpu"
        exit 2
    fi
done

{
    echo "python: $($PYTHON --version 2>&1) at $(command -v "$PYTHON")"
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    $PYTHON -c "import torch; cuda = torch.cuda.is_available(); print('torch', torch.__version__, 'cuda',
torch.version.cuda, 'available', cuda, torch.cuda.get_device_name(0) if cuda else '')" 2>&1 || true
    $PYTHON -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())" 2>&1
    $PYTHON -c "import onnx; print('onnx', onnx.__version__)" 2>&1 || true
    $PYTHON -m pip list 2>&1
} > "$RESULTS/environment.txt"
head -n 25 "$RESULTS/environment.txt"

echo "== 1. install the carried wheels and bakeoff (no index)"
PIP=("$PYTHON" -m pip install --no-index --no-deps --disable-pip-version-check --quiet)
if [ "$REHEARSAL" = 1 ]; then
    PIP+=(--target "$WORK/site")
fi
install() {  # a system Python may be marked externally managed (PEP 668): this machine is a scratch one
    "${PIP[@]}" "$@" || "${PIP[@]}" --break-system-packages "$@"
}
install .whl/*.whl || { echo "FAILED: installing the carried wheels"; exit 3; }
if [ "$REHEARSAL" = 1 ]; then
    export PYTHONPATH="$WORK/site"
fi
install --no-build-isolation . || { echo "FAILED: pip install --no-deps of bakeoff"; exit 3; }
rm -rf build src/*.egg-info
(cd "$WORK" && $PYTHON -c "import bakeoff, accelerate, pytest; print('bakeoff', bakeoff.__version__, 'from',
bakeoff.__file__); print('accelerate', accelerate.__version__, 'pytest', pytest.__version__)") \
    || { echo "FAILED: the installed bakeoff does not import"; exit 3; }

echo "== 2. MiniLM-L6: fp16 carried -> fp32"
cp -r .gpu/minilm-l6 "$WORK/minilm-l6"
$PYTHON benchmarks/gpu_prepare.py restore "$WORK/minilm-l6" || { echo "FAILED: restoring MiniLM-L6"; exit 4; }

echo "== 3. pytest -m gpu"
# the installed bakeoff, not ./src: the suite tests what was installed
timeout "${PYTEST_TIMEOUT:-240}" $PYTHON -m pytest -m gpu -p no:cacheprovider -q -rA tests/gpu \
    --junitxml="$RESULTS/pytest-gpu.xml" 2>&1 | tee "$RESULTS/pytest.txt"
PYTEST_STATUS=${PIPESTATUS[0]}
if [ "$REHEARSAL" = 1 ]; then
    if [ "$PYTEST_STATUS" != 0 ] && grep -q "torch sees no CUDA device" "$RESULTS/pytest.txt"; then
        echo "rehearsal: pytest -m gpu failed loudly without CUDA, as it must (status $PYTEST_STATUS)"
    else
        echo "REHEARSAL PROBLEM: pytest -m gpu did not fail loudly without CUDA (status $PYTEST_STATUS)"
    fi
fi

echo "== 4. benchmarks/gpu.py"
BENCH=(--data .gpu/data --minilm "$WORK/minilm-l6" --out "$RESULTS/benchmark")
export BAKEOFF_STORE="$WORK/store"  # the runs' checkpoints stay behind: only the figures come back
if [ "$REHEARSAL" = 1 ]; then
    BENCH+=(--device cpu --quick)
fi
timeout "${BENCH_TIMEOUT:-300}" $PYTHON benchmarks/gpu.py "${BENCH[@]}"
BENCH_STATUS=$?

echo "== 5. summary"
{
    echo "# gpu_check $(date -u '+%Y-%m-%d %H:%M UTC') (rehearsal=$REHEARSAL)"
    echo
    echo "pytest -m gpu: exit $PYTEST_STATUS; $(tail -n 1 "$RESULTS/pytest.txt")"
    echo "benchmark: exit $BENCH_STATUS"
    echo
    cat "$RESULTS/benchmark/results.md" 2>/dev/null || echo "(no benchmark results)"
} > "$RESULTS/SUMMARY.md"
cat "$RESULTS/SUMMARY.md"
rm -rf "$WORK"
if [ "$REHEARSAL" = 1 ]; then
    exit "$BENCH_STATUS"
fi
[ "$PYTEST_STATUS" = 0 ] && [ "$BENCH_STATUS" = 0 ]
