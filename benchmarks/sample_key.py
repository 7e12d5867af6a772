"""The seeded samples' cost on DuckDB: `data.engines.sample_key` (md5 of the record's id, ``order_id`` in the
generated orders, or of its text and a fingerprint of its numbers; the same order on Spark) against DuckDB's
own ``hash()`` order (DuckDB only), measured in the same run on the same generated orders.

Each scan as the pipeline runs it: the outcome model's training halves inside and outside ``region=west``
(`recommendations.records.sample_records`), an evaluation sample of the scope's last 7 days, the SHAP
evidence's sample over 21 days with the scope oversampled (`rca.evidence.shap_shift.draw_sample`); the
baseline is the same query ordered by ``hash()`` (whole record for the model samples, timestamp and four
dimensions for the SHAP sample, as before the samples were engine-neutral); then the key alone, by the id
and by the whole record (the key of a workspace without ``records.id``). CPU seconds (user + system,
every thread), medians of ``--runs`` runs.

    python benchmarks/sample_key.py --orders 1000000 --work /tmp/cxw-samples
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.engines import sample_key  # noqa: E402
from data.slices import Slice  # noqa: E402
from data.sources import OpenWorkspace, open_workspace, quote  # noqa: E402
from metrics.definitions import scope_predicate  # noqa: E402
from rca.evidence.shap_shift import HOUR_INPUT, draw_sample  # noqa: E402
from rca.measures import Measures  # noqa: E402
from rca.panel import dimension_cardinality  # noqa: E402
from recommendations.counterfactual import _select  # noqa: E402
from recommendations.records import sample_records, window_where  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def hash_sample(ow: OpenWorkspace, select: list[str], where: str, n: int, seed: int) -> None:
    """The model sample as DuckDB drew it before: ordered by ``hash()`` of the whole record."""
    ow.con.execute(f"SELECT {', '.join(select)} FROM records AS _r WHERE {where} "
                   f"ORDER BY hash(_r, {seed}) LIMIT {n}").df()


def hash_shap(ow: OpenWorkspace, measures: Measures, start: datetime, end: datetime, p_all: float, p_focus: float,
              focus: str) -> None:
    """The SHAP sample as DuckDB drew it before: ``hash()`` of the timestamp and four dimensions below a share."""
    ws = ow.workspace
    ts = quote(ws.records.timestamp)
    u = f"((hash({', '.join([ts] + [quote(d) for d in ws.records.dimensions[:4]])}, 0) % 1000003) / 1000003.0)"
    cols = [quote(c) for c in ws.records.features] + [f"CAST({quote(d)} AS VARCHAR)" for d in ws.records.dimensions]
    cols += [f"{ts} AS _ts", f"CAST(hour({ts}) AS INTEGER) AS {HOUR_INPUT}"] + measures.record_columns()
    order = ", ".join([u] + [str(i) for i in range(1, len(cols) + 1)])
    ow.con.execute(f"SELECT {', '.join(cols)} FROM records WHERE {ts} >= ? AND {ts} < ? AND ({u} < {p_all!r} OR "
                   f"(({focus}) AND {u} < {p_focus!r})) ORDER BY {order}", [start, end]).df()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/cxw-samples"))
    args = parser.parse_args()
    folder = args.work / f"cx-{args.orders}"
    if not (folder / "workspace.yaml").exists():
        from data.synthetic.cx import generate_cx

        generate_cx(args.orders, 28, 7, "batching_policy", folder)
    ow = open_workspace(folder / "workspace.yaml")
    west = (Slice((("region", "west"),)),)
    inside = scope_predicate(west)
    select = _select(ow, [west], [], "lightgbm")[0]
    last = f"{inside} AND {window_where(ow.workspace, datetime(2026, 1, 22), datetime(2026, 1, 29))}"
    start, end = datetime(2026, 1, 8), datetime(2026, 1, 29)
    measures, cardinality = Measures.of(ow.workspace), dimension_cardinality(ow, start, end)
    total, in_focus = ow.con.execute(f"SELECT count(*), count(*) FILTER (WHERE {inside}) FROM records WHERE "
                                     f"{window_where(ow.workspace, start, end)}").fetchone()
    p_all = min(1.0, 30_000 / total)
    p_focus = min(1.0, p_all + 15_000 / max(in_focus, 1))
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("training, inside (6k)", lambda: hash_sample(ow, select, inside, 6000, 0),
         lambda: sample_records(ow, select, inside, 6000, 0)),
        ("training, outside (6k)", lambda: hash_sample(ow, select, f"NOT {inside}", 6000, 0),
         lambda: sample_records(ow, select, f"NOT {inside}", 6000, 0)),
        ("evaluation (5k)", lambda: hash_sample(ow, select, last, 5000, 1), lambda: sample_records(ow, select, last, 5000, 1)),
        ("SHAP sample", lambda: hash_shap(ow, measures, start, end, p_all, p_focus, inside),
         lambda: draw_sample(ow, measures, start, end, 30_000, inside, 15_000, cardinality=cardinality)),
        ("the key alone", lambda: ow.con.execute("SELECT max(hash(_r, 0)) FROM records AS _r").fetchall(),
         lambda: ow.con.execute(f"SELECT max({sample_key(ow.columns, 0, ow.workspace.records.id)}) FROM records"
                                ).fetchall()),
        ("whole-record key", lambda: ow.con.execute("SELECT max(hash(_r, 0)) FROM records AS _r").fetchall(),
         lambda: ow.con.execute(f"SELECT max({sample_key(ow.columns, 0)}) FROM records").fetchall()),
    ]
    print(f"{args.orders:,} orders; CPU seconds, medians of {args.runs} runs")
    print(f"{'':24s} {'hash()':>8s} {'sample_key':>11s} {'ratio':>6s}")
    sums = [0.0, 0.0]
    for name, before, after in cases:
        times: list[list[float]] = [[], []]
        for _ in range(args.runs):
            for k, run in enumerate((before, after)):
                clock = cpu()
                run()
                times[k].append(cpu() - clock)
        a, b = statistics.median(times[0]), statistics.median(times[1])
        if name not in ("the key alone", "whole-record key"):
            sums = [sums[0] + a, sums[1] + b]
        print(f"{name:24s} {a:8.2f} {b:11.2f} {b / a:6.1f}×")
    print(f"{'the four samples':24s} {sums[0]:8.2f} {sums[1]:11.2f} {sums[1] / sums[0]:6.1f}×")


if __name__ == "__main__":
    main()
