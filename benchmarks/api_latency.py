"""API latency under load: p50/p95/p99 and throughput of the incident list and detail endpoints.

Starts `cxw serve` with its defaults (what `make demo` runs) on 127.0.0.1 (a free port) over a fresh
database seeded with demo incidents (the incidents.json shape, ``--incidents`` of them over several
metrics and slices), then keeps ``--clients`` concurrent keep-alive connections busy against each
endpoint for ``--seconds``: a closed loop of asyncio + httpx clients (after a warm-up), or wrk
(``--tool wrk``), whose connections cycle through the same URLs (every incident's detail, the status
filter over every metric). ``/api/health`` is measured the same way as the baseline: the cost of the
server, the auth-free request path and the load generator themselves. Target: p95 < 50 ms.

    python benchmarks/api_latency.py [--clients 32] [--seconds 10] [--incidents 500] [--workers 1]
           [--database-url postgresql+psycopg://...] [--tool httpx|wrk] [--wrk-threads 2] [--no-cache]

Everything runs on loopback and stops by itself. The load generator shares the machine's cores with the
server (and so does anything else running: the load average is printed before and after), so numbers
are for comparison within one run (baseline beside the endpoints), not absolutes. The Python client is
itself the bottleneck at a few hundred requests a second; use wrk for the latency target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METRICS = ["on_time_rate", "item_accuracy_rate", "cancel_rate", "refund_per_order", "support_contact_rate", "cx_score"]
SLICES = ["*", "region=west", "region=east", "region=north", "category=grocery", "channel=ios", "basket=large",
          "region=west&category=grocery", "region=east&channel=web", "store=s17"]


def demo_incidents(n: int, seed: int = 7) -> list[dict]:
    """``n`` incidents shaped like the RCA stage's output, with causes, evidence, recommendations, a plan."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        day = 1 + i // 20
        baseline = rng.uniform(0.8, 0.95)
        out.append({
            "id": f"bench-{i}", "metric": METRICS[i % len(METRICS)], "direction": rng.choice(["up", "down"]),
            "start": f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{i % 24:02d}:00:00",
            "end": f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T23:00:00",
            "baseline": baseline, "current": baseline * rng.uniform(0.8, 1.2), "slice": SLICES[i % len(SLICES)],
            "slices": [{"slice": s, "share": rng.random()} for s in rng.sample(SLICES[1:], 3)],
            "causes": [{"hypothesis": h, "change_event": f"change_{i}", "feature": None, "confidence": rng.random(),
                        "summary": "a deterministic sentence grounded in the numbers " * 2,
                        "evidence": {"did": {"effect": -0.1, "interval": [-0.15, -0.05], "p_value": 0.001},
                                     "timing": {"lag_hours": 1}, "shap": {"shift": 0.02}}}
                       for h in ("policy_change", "supply", "merchant")],
            "recommendations": [{"id": f"rec-{i}-{k}", "title": f"Fix {k}", "description": "do the thing " * 5}
                                for k in range(2)],
            "experiment_plan": {"hypothesis": "rolling back restores it", "randomization_unit": "store-hour",
                                "duration_days": 14, "guardrails": ["cancel_rate"]},
        })
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_database(env: dict, n_incidents: int) -> tuple[str, list[int]]:
    """Migrate, register a small workspace, store the demo incidents, issue a pm token."""
    os.environ.update(env)
    from backend.actors import Actor
    from backend.commands.service import open_database
    from backend.crud import incidents, tokens, workspaces
    from tests.conftest import write_workspace

    settings, sessions = open_database()
    ws_path = write_workspace(Path(env["CXW_DATA_DIR"]) / "bench-ws")
    actor = Actor("benchmark", "cli")
    with sessions.begin() as s:
        ws = workspaces.register(s, ws_path, actor)
        created = incidents.upsert(s, ws, demo_incidents(n_incidents), actor).created
        ids = [i.id for i in created]
        _, secret = tokens.create(s, settings.secret_key, "pm", "benchmark", actor)
    return secret, ids


async def closed_loop(base: str, paths: list[str], headers: dict, clients: int, seconds: float,
                      warmup: float) -> tuple[list[float], int, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        async def worker(stop_at: float, record: bool, seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.perf_counter() < stop_at:
                path = rng.choice(paths)
                t0 = time.perf_counter()
                r = await client.get(path)
                elapsed = time.perf_counter() - t0
                if record:
                    if r.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        errors += 1

        end_warm = time.perf_counter() + warmup
        await asyncio.gather(*(worker(end_warm, False, i) for i in range(clients)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds, True, 1000 + i) for i in range(clients)))
        wall = time.perf_counter() - started
    return latencies, errors, wall


def run_wrk(base: str, paths: list[str], token: str, clients: int, seconds: float, threads: int) -> dict:
    """wrk with ``clients`` connections cycling through ``paths`` (as the httpx clients pick among them)."""
    script = Path(tempfile.mkdtemp()) / "report.lua"
    script.write_text(
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        f"local paths = {{{', '.join(json.dumps(p) for p in paths)}}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #paths + 1\n"
        "  return wrk.format(nil, paths[i])\n"
        "end\n"
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("JSON {\\"p50\\": %f, \\"p95\\": %f, \\"p99\\": %f, \\"n\\": %d, '
        '\\"seconds\\": %f, \\"errors\\": %d}\\n", latency:percentile(50)/1000, latency:percentile(95)/1000, '
        "latency:percentile(99)/1000, summary.requests, summary.duration/1e6, "
        "summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))\n"
        "end\n")
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{int(seconds)}s", "-s", str(script), base + paths[0]]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    stats = json.loads(out.split("JSON ", 1)[1])
    stats["rps"] = stats["n"] / stats["seconds"]
    return stats


def summarize(latencies: list[float], errors: int, wall: float) -> dict:
    ms = sorted(x * 1000 for x in latencies)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))] if ms else float("nan")  # noqa: E731
    return {"p50": statistics.median(ms) if ms else float("nan"), "p95": pick(0.95), "p99": pick(0.99),
            "n": len(ms), "rps": len(ms) / wall if wall else 0.0, "errors": errors}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--incidents", type=int, default=500)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--database-url", default=None, help="default: SQLite (WAL) in a temp folder")
    ap.add_argument("--tool", choices=["httpx", "wrk"], default="httpx")
    ap.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (they share the cores with the server)")
    ap.add_argument("--target-ms", type=float, default=50.0)
    ap.add_argument("--no-cache", action="store_true", help="turn the read micro-cache off (CXW_READ_CACHE_SECONDS=0)")
    args = ap.parse_args()
    if args.tool == "wrk" and not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="cxw-bench-"))
    env = {"CXW_DATA_DIR": str(work / "data")}
    if args.no_cache:
        env["CXW_READ_CACHE_SECONDS"] = "0"
    if args.database_url:
        env["CXW_DATABASE_URL"] = args.database_url
    token, ids = seed_database(env, args.incidents)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (work / "server.log").open("w")
    # `cxw serve` with its defaults (what `make demo` runs); its own output goes to a log file.
    server = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--workers",
                               str(args.workers)], env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=work,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/api/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the server did not start:\n" + (work / "server.log").read_text()[-3000:], file=sys.stderr)
                    return 1
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        cases = [("baseline GET /api/health", ["/api/health"]),
                 ("GET /api/incidents?limit=50", ["/api/incidents?limit=50"]),
                 ("GET /api/incidents?status=open&metric=…", [f"/api/incidents?status=open&metric={m}&limit=50"
                                                               for m in METRICS]),
                 ("GET /api/incidents/{id}", [f"/api/incidents/{i}" for i in ids])]
        print(f"{args.incidents} incidents, {args.clients} concurrent clients, {args.seconds:.0f} s per endpoint, "
              f"{args.workers} worker(s), {'PostgreSQL' if args.database_url else 'SQLite'}, load: {args.tool}, "
              f"read cache {'off' if args.no_cache else 'on (default 1 s)'}, load average {os.getloadavg()[0]:.1f}, "
              f"{os.cpu_count()} cores shared with the load generator")
        print(f"{'endpoint':42} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}")
        results = {}
        for label, paths in cases:
            if args.tool == "wrk":
                stats = run_wrk(base, paths, token, args.clients, args.seconds, args.wrk_threads)
            else:
                stats = summarize(*asyncio.run(closed_loop(base, paths, headers, args.clients, args.seconds,
                                                           args.warmup)))
            results[label] = stats
            print(f"{label:42} {stats['p50']:8.1f} {stats['p95']:8.1f} {stats['p99']:8.1f} {stats['rps']:8.0f} "
                  f"{stats['errors']:7d}")
        worst = max(v["p95"] for k, v in results.items() if not k.startswith("baseline"))
        verdict = "meets" if worst < args.target_ms else "misses"
        print(f"worst p95 of the incident endpoints: {worst:.1f} ms ({verdict} the {args.target_ms:.0f} ms target); "
              f"load average now {os.getloadavg()[0]:.1f}")
        return 0
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
