"""What racing (`bakeoff run FILE --until-decided`) buys, on simulated bake-offs: its false "significant" rate over
many looks, its power on a true 3-point gap, and the runs it spends against the fixed design of the same power.

    PYTHONPATH=src python benchmarks/race_simulation.py [RACES]

The simulation is tests/report/race_simulation.py's (SST-2-like: 872 validation rows, accuracy about 82%); each race
is judged look by look by the race's own code (report/sequential.py). The fixed design is the fewest seeds per row
whose single test (the same statistic at the full 5%) reaches the race's power. No training: about a minute per
scenario on a loaded 2-core machine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' simulation

from bakeoff.report.decision import Answer  # noqa: E402
from tests.report.race_simulation import GAP_3_POINTS, fixed, race  # noqa: E402

SCENARIOS = [  # (seed jitter in logits, seed spread it gives in points, first seeds, max_seeds)
    (0.05, 0.8, 3, 8),
    (0.3, 1.7, 3, 10),
]


def main(races: int) -> None:
    start = time.perf_counter()
    for jitter, spread in ((0.05, 0.8), (0.3, 1.7), (0.6, 3.1)):
        rng = np.random.default_rng(2026)
        outcomes = [race(rng, 0.0, first=2, max_seeds=11, seed_jitter=jitter) for _ in range(races)]
        false = np.mean([o.answer in (Answer.BETTER, Answer.WORSE) for o in outcomes])
        equivalent = np.mean([o.answer is Answer.EQUIVALENT for o in outcomes])
        print(f"A/A, seed spread {spread} points, 2 -> 11 seeds (10 looks): false 'significant' {false:.1%}, "
              f"'equivalent' within 1 point {equivalent:.1%}, {np.mean([o.runs for o in outcomes]):.1f} runs "
              f"on average ({races} races)", flush=True)
    for jitter, spread, first, max_seeds in SCENARIOS:
        rng = np.random.default_rng(2026)
        outcomes = [race(rng, GAP_3_POINTS, first=first, max_seeds=max_seeds, seed_jitter=jitter)
                    for _ in range(races)]
        power = np.mean([o.answer is Answer.BETTER for o in outcomes])
        runs = float(np.mean([o.runs for o in outcomes]))
        for seeds in range(first, 25):
            rng = np.random.default_rng(2027)
            fixed_power = np.mean([fixed(rng, GAP_3_POINTS, seeds, jitter) is Answer.BETTER for _ in range(races)])
            if fixed_power >= power:
                break
        print(f"3-point gap, seed spread {spread} points, {first} -> {max_seeds} seeds: race power {power:.1%} with "
              f"{runs:.2f} runs on average (at most {2 * max_seeds}); fixed design of equal power: {seeds} seeds a "
              f"row, {2 * seeds} runs (power {fixed_power:.1%}); the race saves {1 - runs / (2 * seeds):.0%}",
              flush=True)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
