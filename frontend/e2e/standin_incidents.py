"""Stand-in for `cxw analyze` while the analysis stages are not on main yet: incidents.json for a generated
demo, computed from its metric cube and truth.json (the injected regression, its scope and its cause).

The numbers are real aggregates of the demo data (baseline and current windows, per-slice shares, a
2x2 difference-in-differences with scope placebos); the evidence the RCA stage would add (SHAP, event
study) is left out. `e2e/run.sh` uses this only when `cxw analyze` does not exist.

Usage: python standin_incidents.py DEMO_DIR OUT_JSON
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb


def main(demo: Path, out: Path) -> None:
    truth = json.loads((demo / "truth.json").read_text())
    cube = str(demo / "cube" / "cube.parquet")
    con = duckdb.connect()
    events = {r[1]: r[0] for r in con.execute(f"select ts, name from read_csv_auto('{demo / 'change_events.csv'}')").fetchall()}
    end = datetime.fromisoformat(truth["end"])

    def mean(metric: str, slices: list[str], lo: datetime, hi: datetime) -> tuple[float, float]:
        q = ("select sum(numerator), sum(denominator), sum(value * n), sum(n) from read_parquet(?) "
             "where metric = ? and slice in (select unnest(?)) and ts >= ? and ts < ?")
        num, den, vn, n = con.execute(q, [cube, metric, slices, lo, hi]).fetchone()
        if num is not None and den:
            return num / den, den
        return (vn / n if n else float("nan")), float(n or 0)

    incidents = []
    for inj in truth["injections"]:
        start = datetime.fromisoformat(inj["start"])
        base_lo = start - timedelta(days=7)
        scope = [s for s in inj["scope"].split(";") if s]
        dim = scope[0].split("=")[0]
        values = [r[0] for r in con.execute(
            "select distinct slice from read_parquet(?) where slice like ? and slice not like '%&%'",
            [cube, f"{dim}=%"]).fetchall()]
        controls = [v for v in values if v not in scope]
        cause = inj["cause"]
        for metric in ("cx_score", "on_time_rate"):
            if metric not in inj["metrics"]:
                continue
            b, _ = mean(metric, ["*"], base_lo, start)
            c, _ = mean(metric, ["*"], start, end)
            total_change = c - b

            def change(slices: list[str]) -> float:
                return mean(metric, slices, start, end)[0] - mean(metric, slices, base_lo, start)[0]

            weights = {v: mean(metric, [v], start, end)[1] for v in values}
            wsum = sum(weights.values()) or 1.0
            shares = sorted(({"slice": v, "share": round(change([v]) * weights[v] / wsum / total_change, 4)}
                             for v in values), key=lambda s: -s["share"])
            did = change(scope) - change(controls)
            placebo = [change([v]) - change([x for x in controls if x != v]) for v in controls]
            spread = (max(placebo) - min(placebo)) or abs(did) * 0.2
            se = max(spread / 2, abs(did) * 0.1)
            z = did / se
            placebo_z = [round(p / se, 3) for p in placebo]
            t_event = events.get(cause["change_event"])
            decoy = truth.get("decoys", [None])[0]
            causes = [{
                "hypothesis": cause["hypothesis"], "change_event": cause["change_event"], "feature": cause["feature"],
                "scope": scope, "confidence": 0.87,
                "summary": (f"{cause['change_event']} started at {t_event} in {', '.join(scope)}; {metric} moved "
                            f"{did:+.4f} more there than in the other {dim} values (difference-in-differences)."),
                "evidence": {
                    "timing": {"test": "timing", "effect": 0.0, "interval": {"low": -1.0, "high": 1.0, "level": 0.95},
                               "p_value": round(2 / (end - start).total_seconds() * 3600, 4), "supports": True,
                               "detail": {"change_point": start.isoformat(), "candidate_time": str(t_event).replace(" ", "T"),
                                          "change_point_interval": [(start - timedelta(hours=1)).isoformat(),
                                                                    (start + timedelta(hours=1)).isoformat()],
                                          "hours_from_change_point": 0.0}},
                    "scope": {"test": "scope", "effect": 1.0, "interval": None, "p_value": None, "supports": True,
                              "detail": {"candidate_scope": inj["scope"], "localized": ";".join(s["slice"] for s in shares[:2])}},
                    "did": {"test": "did", "effect": round(did, 5),
                            "interval": {"low": round(did - 1.96 * se, 5), "high": round(did + 1.96 * se, 5), "level": 0.95},
                            "p_value": 0.001, "supports": did * total_change > 0,
                            "detail": {"testable": True, "z": round(z, 3), "treated_units": len(scope),
                                       "control_units": len(controls)}},
                    "placebo_scope": {"test": "placebo_scope", "effect": round(z, 3),
                                      "interval": {"low": min(placebo_z), "high": max(placebo_z), "level": 0.95},
                                      "p_value": round(1 / (1 + len(placebo_z)), 3),
                                      "supports": all(abs(p) < abs(z) for p in placebo_z),
                                      "detail": {"testable": True, "placebo_z": placebo_z, "real_z": round(z, 3)}},
                },
            }]
            if decoy:
                causes.append({"hypothesis": "change_event", "change_event": decoy, "feature": None, "scope": [],
                               "confidence": 0.06, "summary": f"{decoy} happened near the change but its scope and "
                               "timing do not match the regression.",
                               "evidence": {"scope": {"test": "scope", "effect": 0.2, "interval": None, "p_value": None,
                                                      "supports": False, "detail": {"candidate_scope": "*"}}}})
            effect = round(-did * sum(weights[v] for v in scope) / wsum, 5)
            incidents.append({
                "id": f"standin-{metric}", "metric": metric, "direction": "down" if total_change < 0 else "up",
                "start": start.isoformat(), "end": end.isoformat(), "baseline": b, "current": c, "slice": "*",
                "baseline_start": base_lo.isoformat(), "slices": shares[:4], "causes": causes,
                "recommendations": [{
                    "id": "revert_batching", "action": "revert_policy",
                    "title": f"Roll back {cause['change_event']} in {', '.join(scope)}",
                    "description": "Return to the previous courier batching limit where the policy changed.",
                    "metric": metric, "expected_effect": effect,
                    "interval": {"low": round(effect - 1.96 * se / 2, 5), "high": round(effect + 1.96 * se / 2, 5)},
                    "tradeoffs": [{"metric": "courier_minutes_per_order", "effect": 1.8,
                                   "interval": {"low": 1.1, "high": 2.5}}],
                    "parameters": {"batching_threshold": 2, "share_of_stores": 1.0},
                }],
                "experiment_plan": {
                    "title": f"Batching limit test in {', '.join(scope)}",
                    "hypothesis": f"A batching limit of 2 restores {metric} in {', '.join(scope)} at an acceptable courier cost.",
                    "primary_metric": metric, "randomization_unit": "store_id", "arms": ["limit 4 (control)", "limit 2"],
                    "mde": round(abs(did) / 2, 4), "alpha": 0.05, "power": 0.8, "sample_size_per_arm": 48000,
                    "duration_days": 14,
                    "guardrails": [{"metric": "courier_minutes_per_order", "max_increase": "5%"},
                                   {"metric": "cancellation_rate", "max_increase": "0.5 pp"}],
                    "rollout": ["Randomize stores in the scope 50/50", "Check sample ratio after 24 h",
                                "Read out after 14 days", "Roll out region by region"],
                },
            })
    out.write_text(json.dumps({"incidents": incidents}, indent=1, default=str))
    print(f"stand-in: {len(incidents)} incident(s) -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
