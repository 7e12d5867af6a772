"""Benchmark: answering a question (`backend.ask.ask`) against building the metric cube on the same data.

    python benchmarks/ask.py [--orders 1000000] [--data DIR] [--repeat 3]

Generates (or reuses, with ``--data``) CX orders, builds the cube once (`metrics.cube.build_cube`: the
baseline, what a dashboard would precompute), then asks each question of `QUESTIONS` ``--repeat`` times
through the whole composition (open and validate the workspace, read its vocabulary, parse, compile, run,
answer), as `cxw ask` and ``POST /api/ask`` do. Prints the median seconds of each question and its ratio
to the cube build. Target: every question answers in well under the cube's build time (ratio < 0.5) and
under 2 s on 1,000,000 orders, so the question box is interactive on the demo.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = (
    "How many orders were late in region west yesterday?",
    "Which store's cancellation rate rose most last week?",
    "What was the cx score by region last week vs the week before?",
    "top 5 stores by on time rate in the last 7 days",
    "what's the weather",  # a refusal: no query runs
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from backend.ask import ask
    from data.sources import open_workspace
    from data.synthetic.cx import generate_cx
    from metrics.cube import build_cube

    with tempfile.TemporaryDirectory(prefix="cxw-ask-bench-") as tmp:
        data = args.data or Path(tmp) / "cx"
        if args.data is None:
            generate_cx(args.orders, 28, 7, "batching_policy", data)
        ow = open_workspace(data)
        started = time.perf_counter()
        build_cube(ow, Path(tmp) / "cube")
        cube_seconds = time.perf_counter() - started
        ow.con.close()
        print(f"{args.orders:,} orders; cube build (baseline): {cube_seconds:.2f} s")
        for question in QUESTIONS:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                answer = ask(data, question)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            print(f"{median:6.2f} s  {median / cube_seconds:5.2f}× cube  "
                  f"{'answered' if answer.answered else 'refused '}  {question}")


if __name__ == "__main__":
    main()
