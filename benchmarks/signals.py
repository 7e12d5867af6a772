"""Benchmark: accuracy of the signals investigation on simulated migrations with truth, and its speed at scale.

    python benchmarks/signals.py accuracy [--seeds 10] [--merchants 200]
    python benchmarks/signals.py speed [--signals 1000000]

*accuracy*: for each seed, one simulation with every injected pattern and one with noise only
(`cxw signals simulate`), each investigated (`backend.signals_analysis.investigate`). Per injected
pattern: found as one pattern (≥ 95% of its signals in one pattern that is ≥ 95% its own), raised, its
cause ranked first (``unknown`` for the outage outside the library). Per noise-only run: patterns
raised (should be none). Calibration of the leading hypothesis' confidence over the raised patterns of
the full runs: mean confidence against the share whose cause is right, and the Brier score.

*speed*: a simulation of about ``--signals`` signals (merchants scaled to it), then, timed: reading and
validating the file, the whole investigation (and its pattern grouping alone), storing it in a fresh
SQLite database through the ingestion path of `POST /api/signals` in batches of 5,000, and reading it
back as a table, each in wall and CPU seconds (the machine is shared). Baselines measured in the same
run: ``json.loads`` of every line (the parse floor of validation), and drain3's own `TemplateMiner` fed every message (its masking + Drain per line, the
way it is usually run) on a sample, extrapolated — against our one-pass masking + Drain on the
distinct masked lines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def accuracy(seeds: int, merchants: int) -> None:
    import numpy as np

    from backend.signals_analysis import investigate
    from data.signals import read_signals
    from data.synthetic.signals import evaluate_patterns, simulate_migration

    ok = total = one = raised_ok = cause_ok = noise_raised = 0
    conf, right = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            out = Path(tmp) / f"s{seed}"
            simulate_migration(out, merchants=merchants, days=14, seed=1000 + seed)
            truth = json.loads((out / "truth.json").read_text())
            result = investigate(read_signals([out / "signals.jsonl"]))
            report = result.report
            raised = {p.id for p in report.patterns if p.spike.raised}
            top = {p.id: p.hypotheses[0].id for p in report.patterns if p.hypotheses}
            verdicts = evaluate_patterns(truth, result.signal_ids, result.pattern_ids, raised, top)
            cause_of = {v.found: v.cause for v in verdicts if v.one_pattern}
            for v in verdicts:
                total += 1
                one += v.one_pattern
                raised_ok += v.raised
                cause_ok += v.top_cause == v.cause
                ok += v.correct
            extra = raised - {v.found for v in verdicts}
            for p in report.patterns:
                if p.spike.raised and p.id in cause_of:
                    conf.append(p.hypotheses[0].confidence)
                    right.append(p.hypotheses[0].id == cause_of[p.id])
            simulate_migration(out, merchants=merchants, days=14, seed=2000 + seed, patterns=())
            noise = investigate(read_signals([out / "signals.jsonl"])).report
            noise_raised += noise.raised
            print(f"seed {seed}: {sum(v.correct for v in verdicts)}/{len(verdicts)} injected patterns right, "
                  f"{len(extra)} other raised; noise-only run: {noise.raised} raised of {len(noise.patterns)}",
                  flush=True)
    conf_a, right_a = np.array(conf), np.array(right, dtype=float)
    print(f"\n{merchants} merchants, 14 days, {seeds} seeds")
    print(f"injected patterns found as one pattern: {one}/{total}; raised: {raised_ok}/{total}; "
          f"cause ranked first: {cause_ok}/{total}; all three: {ok}/{total}")
    print(f"patterns raised in {seeds} noise-only runs: {noise_raised}")
    if len(conf_a):
        print(f"leading-cause confidence: mean {conf_a.mean():.3f} vs accuracy {right_a.mean():.3f}; "
              f"Brier {np.mean((conf_a - right_a) ** 2):.4f} over {len(conf_a)} raised patterns")


class _Clock:
    """Wall and CPU seconds of a step (the machine is shared: CPU seconds say what the step costs)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed(signals: int) -> None:

    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    from backend.actors import Actor
    from backend.crud import signals as crud
    from backend.db import make_engine, make_sessionmaker, migrate
    from backend.signals_analysis import investigate
    from data.signals import read_records, table_from_records
    from data.synthetic.signals import evaluate_patterns, simulate_migration
    from detection.signal_patterns import group_patterns

    merchants = max(20, round(signals / 72))  # about 72 records per merchant over a fortnight
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sim"
        with _Clock() as c_sim:
            sim = simulate_migration(out, merchants=merchants, days=14, seed=7)
        print(f"simulated {sim.signals:,} records of {merchants:,} merchants: {c_sim}", flush=True)
        path = out / "signals.jsonl"

        with _Clock() as c_json:
            raw = [json.loads(line) for line in path.read_text().splitlines()]
        with _Clock() as c_read:
            records = read_records(path)
            table = table_from_records(records)
        print(f"read + validate: {c_read} ({len(records) / c_read.cpu:,.0f} records per CPU s); "
              f"json.loads baseline {c_json} → ×{c_read.cpu / c_json.cpu:.1f} CPU", flush=True)
        del raw

        with _Clock() as c_group:
            group_patterns(table.events)
        texts = table.events["text"]
        sample = texts.sample(min(50_000, len(texts)), random_state=0)
        config = TemplateMinerConfig()
        config.masking_instructions = [MaskingInstruction(r"\S*\d\S*", "NUM")]
        config.profiling_enabled = False
        miner = TemplateMiner(config=config)
        with _Clock() as c_naive:
            for text in sample:
                miner.add_log_message(text)
        naive_cpu = c_naive.cpu * len(texts) / len(sample)
        print(f"pattern grouping (masking, Drain on distinct lines, ticket topics): {c_group}; drain3 TemplateMiner "
              f"on every message (sample of {len(sample):,}, extrapolated): {naive_cpu:.1f} s CPU → "
              f"×{naive_cpu / c_group.cpu:.1f}", flush=True)

        with _Clock() as c_all:
            result = investigate(table)
        report = result.report
        print(f"investigation of {report.signals:,} signals: {c_all} ({len(report.patterns)} patterns, "
              f"{report.raised} raised)", flush=True)
        raised = {p.id for p in report.patterns if p.spike.raised}
        verdicts = evaluate_patterns(json.loads((out / "truth.json").read_text()), result.signal_ids,
                                     result.pattern_ids, raised, {p.id: p.hypotheses[0].id for p in report.patterns
                                                                  if p.hypotheses})
        noise = sorted(p.label for p in report.patterns if p.spike.raised and p.id not in {v.found for v in verdicts})
        print(f"injected patterns found as one pattern, raised, cause first: {sum(v.correct for v in verdicts)}/"
              f"{len(verdicts)}; noise patterns raised: {len(noise)} {noise}", flush=True)
        del result

        engine = make_engine(f"sqlite:///{Path(tmp) / 'db' / 'cxw.db'}")
        migrate(engine)
        sessions = make_sessionmaker(engine)
        actor = Actor("bench", "job")
        with _Clock() as c_ingest:
            for start in range(0, len(records), 5_000):
                with sessions.begin() as session:
                    crud.ingest(session, records[start:start + 5_000], actor)
        with _Clock() as c_load:
            with sessions() as session:
                stored = crud.load_table(session)
        print(f"ingest into SQLite (batches of 5,000): {c_ingest} ({len(records) / c_ingest.wall:,.0f} records/s wall); "
              f"read back as a table: {c_load} ({len(stored.events):,} events)", flush=True)
        engine.dispose()
        print(f"peak RSS {_rss_mb():,.0f} MB; read + investigate {c_read.wall + c_all.wall:.1f} s wall, "
              f"{c_read.cpu + c_all.cpu:.1f} s CPU; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    a = sub.add_parser("accuracy")
    a.add_argument("--seeds", type=int, default=10)
    a.add_argument("--merchants", type=int, default=200)
    s = sub.add_parser("speed")
    s.add_argument("--signals", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.what == "accuracy":
        accuracy(args.seeds, args.merchants)
    else:
        speed(args.signals)


if __name__ == "__main__":
    main()
