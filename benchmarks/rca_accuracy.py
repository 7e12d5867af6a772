"""Accuracy of `cxw analyze` on generated datasets: every CX scenario and every other-domain scenario.

For each dataset (generated once into ``--work``) the whole pipeline runs — cube, `detection.detect`
(or, with ``--truth-regressions``, a perfect detector built from truth.json), RCA — and each injection is
scored on its primary metric: detected, localized exactly, true cause ranked first. Datasets with
nothing injected must yield no incident. Prints one line per dataset and the totals.

    python benchmarks/rca_accuracy.py --seeds 1 2 3 --work /tmp/cxw-accuracy
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--orders", type=int, default=150_000, help="CX orders per dataset")
    parser.add_argument("--records", type=int, default=100_000, help="records per other-domain dataset")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cxw-accuracy"))
    parser.add_argument("--truth-regressions", action="store_true")
    parser.add_argument("--only", choices=("cx", "other"), default=None)
    args = parser.parse_args()

    from data.sources import open_workspace
    from data.synthetic.cx import SCENARIOS as CX_SCENARIOS
    from data.synthetic.cx import generate_cx
    from data.synthetic.generic import DOMAINS, SCENARIOS as GENERIC_SCENARIOS, generate_domain
    from backend.analysis import analyze_workspace
    from rca.analyze import analyze
    from rca.evaluation import regressions_from_truth, score_injection

    plan = []
    for seed in args.seeds:
        if args.only != "other":
            plan += [("cx", s, seed) for s in CX_SCENARIOS]
        if args.only != "cx":
            plan += [(d, s, seed) for d in DOMAINS for s in GENERIC_SCENARIOS]
    totals: dict[str, list] = {}
    for kind, scenario, seed in plan:
        folder = args.work / f"{kind}-{scenario}-{seed}"
        if not (folder / "truth.json").exists():
            if kind == "cx":
                generate_cx(args.orders, 28, seed, scenario, folder)
            else:
                generate_domain(kind, scenario, args.records, seed, folder)
        truth = json.loads((folder / "truth.json").read_text())
        ow = open_workspace(folder / "workspace.yaml")
        regressions = regressions_from_truth(truth, ow.workspace.records.grain) if args.truth_regressions else None
        started = time.perf_counter()
        result = (analyze(ow, folder / "analysis", regressions=regressions) if regressions is not None
                  else analyze_workspace(ow, folder / "analysis", recommend=0))
        seconds = time.perf_counter() - started
        group = "cx" if kind == "cx" else "other domains"
        if not truth["injections"]:
            ok = not result.incidents
            totals.setdefault(group + " (quiet)", []).append(ok)
            print(f"{kind:14s} {scenario:22s} seed {seed}: quiet, {len(result.incidents)} incident(s)"
                  f"{'' if ok else '  <-- FALSE ALARM'} ({len(result.document.get('dismissed', []))} dismissed) "
                  f"{seconds:.1f} s", flush=True)
            continue
        s = score_injection(list(result.incidents), truth["injections"][0], scenario)
        totals.setdefault(group, []).append(s)
        flag = "" if (s.detected and s.localized and s.cause_first) else "  <--"
        print(f"{kind:14s} {scenario:22s} seed {seed}: detected={s.detected!s:5} localized={s.localized!s:5} "
              f"first={s.cause_first!s:5} top={s.top} ({s.confidence if s.confidence is None else round(s.confidence, 3)})"
              f" {seconds:.1f} s{flag}", flush=True)
    print()
    for group, rows in totals.items():
        if group.endswith("(quiet)"):
            print(f"{group}: {sum(rows)}/{len(rows)} without incident")
            continue
        n = len(rows)
        print(f"{group}: detected {sum(r.detected for r in rows)}/{n}, localized exactly "
              f"{sum(r.localized for r in rows)}/{n}, true cause first {sum(r.cause_first for r in rows)}/{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
