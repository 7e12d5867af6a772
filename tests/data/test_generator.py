"""The CX scenario generator: determinism, schema, the truth file, and that each injected cause is really there."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from backend.cli import main
from data.errors import UserError
from data.synthetic import cx
from data.synthetic.cx import SCENARIOS, generate_cx

N = 40_000
DAYS = 28
SEED = 1

METRIC_SQL = {
    "on_time_rate": "avg((delivered_at <= promised_at)::int)",
    "item_accuracy": "avg(item_accurate::int)",
    "cancellation_rate": "avg(cancelled::int)",
    "support_rate": "avg(support_contact::int)",
    "refund_per_order": "avg(refund_amount)",
    "avg_delivery_minutes": "avg(delivery_minutes)",
    "courier_minutes_per_order": "avg(courier_minutes)",
}

CAUSES = {
    "batching_policy": ("policy_change", "batching_threshold_4", "batching_threshold"),
    "courier_shortage": ("supply", None, "courier_supply_ratio"),
    "merchant_prep": ("merchant", "menu_overhaul_", "prep_minutes"),
    "inventory_oos": ("inventory", "supplier_switch_grocery", "oos_rate"),
    "eta_model_regression": ("model_regression", "eta_model_v3", "eta_model"),
    "platform_migration": ("migration", "platform_migration_", "platform"),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    """Every scenario generated once with the same seed (module-wide; the files are read, never changed)."""
    root = tmp_path_factory.mktemp("cx")
    return {name: generate_cx(N, DAYS, SEED, name, root / name).out for name in SCENARIOS}


def _truth(out: Path) -> dict:
    return json.loads((out / "truth.json").read_text())


def _events(out: Path) -> list[dict]:
    with open(out / "change_events.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _scope_sql(scope: str) -> str:
    return " OR ".join(f"{k} = '{v}'" for k, v in (part.split("=", 1) for part in scope.split(";")))


def _before_after(out: Path, scope: str, start: str) -> dict[tuple[bool, bool], dict[str, float]]:
    """Metric values by (in scope, after start)."""
    metrics = ", ".join(f"{sql} AS {name}" for name, sql in METRIC_SQL.items())
    rows = duckdb.sql(
        f"SELECT ({_scope_sql(scope)}) AS inside, created_at >= TIMESTAMP '{start}' AS after, count(*) AS n, {metrics} "
        f"FROM read_parquet('{out}/orders/*.parquet') GROUP BY ALL").fetchall()
    names = ["n", *METRIC_SQL]
    return {(r[0], r[1]): dict(zip(names, r[2:], strict=True)) for r in rows}


def _digest(out: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(out).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


# -- determinism --------------------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path, outputs):
    again = generate_cx(N, DAYS, SEED, "batching_policy", tmp_path / "again").out
    assert _digest(again) == _digest(outputs["batching_policy"])
    other = generate_cx(N, DAYS, SEED + 1, "batching_policy", tmp_path / "other").out
    assert _digest(other) != _digest(outputs["batching_policy"])
    assert _truth(other) != _truth(outputs["batching_policy"])


def test_scenarios_share_random_numbers_so_data_before_the_start_is_the_counterfactual(outputs):
    # 40k orders over 28 days make week-long files; the first week ends long before the start on day 14
    first = "orders/part-0000.parquet"
    digests = {name: hashlib.sha256((out / first).read_bytes()).hexdigest() for name, out in outputs.items()}
    assert len(set(digests.values())) == 1


# -- schema -------------------------------------------------------------------------------------------


def test_orders_schema_and_invariants(outputs):
    out = outputs["none"]
    table = pq.read_table(out / "orders")
    assert table.schema.equals(cx.ORDER_SCHEMA, check_metadata=False)
    assert table.num_rows == N
    df = table.to_pandas()
    assert (df.order_id.to_numpy() == range(1, N + 1)).all()
    assert df.created_at.is_monotonic_increasing
    assert df.created_at.min() >= datetime(2026, 1, 1) and df.created_at.max() < datetime(2026, 1, 29)
    assert (df.hour_of_day == df.created_at.dt.hour).all()
    assert set(df.region) == set(cx.REGIONS) and set(df.category) == set(cx.CATEGORIES)
    assert set(df.basket_bucket) == {"1", "2-3", "4-6", "7+"} and set(df.channel) == {"ios", "android", "web"}
    assert 300 <= df.store_id.nunique() <= 400
    per_store = df.groupby("store_id")[["region", "category"]].nunique()
    assert (per_store == 1).all().all()  # each store belongs to one region and one category
    sizes = df.store_id.value_counts()
    assert sizes.iloc[:10].sum() > 0.12 * N and sizes.median() < N / 600  # a few big stores, many small ones
    assert df.customer_id.value_counts().iloc[0] > 5  # repeat customers
    assert (df.batching_threshold == 2).all() and (df.eta_model == "v2").all()
    assert set(df.platform) == {"legacy", "nextgen"}
    cancelled = df.cancelled
    for col in ("delivered_at", "delivery_minutes", "courier_minutes", "item_accurate", "substituted"):
        assert (df[col].isna() == cancelled).all(), col
    assert (df.promised_at > df.created_at).all()
    assert (df.refund_amount >= 0).all() and (df.refund_amount[~cancelled] == 0).mean() > 0.9
    assert (df.order_value > 0).all()


def test_baseline_rates_are_realistic(outputs):
    base = duckdb.sql(
        f"SELECT {', '.join(f'{sql} AS {name}' for name, sql in METRIC_SQL.items())} "
        f"FROM read_parquet('{outputs['none']}/orders/*.parquet')").df().iloc[0]
    assert 0.88 <= base.on_time_rate <= 0.93
    assert 0.95 <= base.item_accuracy <= 0.98
    assert 0.02 <= base.cancellation_rate <= 0.04
    assert 0.02 <= base.support_rate <= 0.08


def test_orders_follow_daily_and_weekly_seasonality(outputs):
    by_hour = duckdb.sql(
        f"SELECT hour_of_day, count(*) AS n, avg(courier_supply_ratio) AS supply "
        f"FROM read_parquet('{outputs['none']}/orders/*.parquet') GROUP BY 1").df().set_index("hour_of_day")
    assert by_hour.n[12] > 2 * by_hour.n[9] and by_hour.n[19] > 2 * by_hour.n[15]  # lunch and dinner peaks
    assert by_hour.n[4] < by_hour.n[12] / 10
    assert by_hour.supply[19] < by_hour.supply[15]  # fewer couriers per order at peaks
    by_day = duckdb.sql(
        f"SELECT isodow(created_at) >= 6 AS weekend, count(*) / count(DISTINCT created_at::date) AS per_day "
        f"FROM read_parquet('{outputs['none']}/orders/*.parquet') GROUP BY 1").df().set_index("weekend")
    assert by_day.per_day[True] > 1.1 * by_day.per_day[False]


def test_workspace_yaml_is_the_contract(outputs):
    spec = yaml.safe_load((outputs["none"] / "workspace.yaml").read_text())
    assert spec["records"] == {
        "path": "orders", "timestamp": "created_at", "grain": "hour",
        "dimensions": ["region", "store_id", "category", "basket_bucket", "channel"],
        "features": ["courier_supply_ratio", "prep_minutes", "batching_threshold", "oos_rate", "eta_model", "platform"],
        "entity": "customer_id", "id": "order_id", "noun": "orders",
    }
    [(total, distinct)] = duckdb.sql(
        f"SELECT count(*), count(DISTINCT order_id) FROM read_parquet('{outputs['none']}/orders/*.parquet')").fetchall()
    assert total == distinct  # records.id is unique: the seeded samples draw by it
    assert spec["changes"] == {"path": "change_events.csv"}
    names = [m["name"] for m in spec["metrics"]]
    assert names == ["on_time_rate", "item_accuracy", "cancellation_rate", "support_rate", "refund_per_order",
                     "avg_delivery_minutes", "courier_minutes_per_order", "cx_score"]
    columns = set(cx.ORDER_SCHEMA.names)
    assert set(spec["records"]["dimensions"] + spec["records"]["features"]) <= columns


# -- truth and change events --------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_truth_and_events_per_scenario(outputs, scenario):
    out = outputs[scenario]
    truth = _truth(out)
    events = _events(out)
    names = {e["name"]: e for e in events}
    assert list(events[0]) == ["ts", "name", "kind", "scope", "description"]
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    assert len(names) == len(events)
    assert (truth["scenario"], truth["seed"], truth["orders"]) == (scenario, SEED, N)
    assert (truth["start"], truth["end"]) == ("2026-01-01T00:00:00", "2026-01-29T00:00:00")
    assert set(truth["decoys"]) | set(truth["routine"]) <= set(names)
    assert any(names[d]["scope"] == "*" for d in truth["decoys"])  # a global decoy
    assert len(truth["routine"]) >= 3

    if scenario == "none":
        assert truth["injections"] == []
        return
    (inj,) = truth["injections"]
    hypothesis, event, feature = CAUSES[scenario]
    assert inj["cause"]["hypothesis"] == hypothesis and inj["cause"]["feature"] == feature
    if event is None:
        assert inj["cause"]["change_event"] is None
        assert all(e["kind"] != "supply" or e["name"] in truth["decoys"] for e in events)
    else:
        assert inj["cause"]["change_event"].startswith(event) and inj["cause"]["change_event"] in names
    start = datetime.fromisoformat(inj["start"])
    assert datetime(2026, 1, 15) < start < datetime(2026, 1, 16)  # day 14 (= 28 // 2) plus a few hours
    assert inj["metrics"][0] in inj["direction"] and set(inj["metrics"]) == set(inj["direction"])
    # a decoy in the same hour as the cause, in another scope
    same_hour = [d for d in truth["decoys"]
                 if datetime.fromisoformat(names[d]["ts"]).replace(minute=0) == start.replace(minute=0)]
    assert same_hour and all(names[d]["scope"] not in (inj["scope"], "*") for d in same_hour)
    if scenario != "merchant_prep":  # a few stores are a small scope; every other cause hits 10-35% of orders
        share = _before_after(out, inj["scope"], inj["start"])
        inside = sum(v["n"] for (i, _), v in share.items() if i) / N
        assert 0.10 <= inside <= 0.35


def test_migration_waves(outputs):
    out = outputs["platform_migration"]
    (inj,) = _truth(out)["injections"]
    waves = inj["waves"]
    assert 3 <= len(waves) <= 4 and waves[0]["start"] == inj["start"]
    starts = [datetime.fromisoformat(w["start"]) for w in waves]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(timedelta(hours=12) <= g <= timedelta(days=2, hours=2) for g in gaps)
    events = {e["name"]: e for e in _events(out)}
    region = inj["scope"].split("=")[1]
    orders = pq.read_table(out / "orders", columns=["store_id", "region", "platform", "created_at"]).to_pandas()
    for wave in waves:
        assert events[wave["name"]]["kind"] == "migration"
        assert events[wave["name"]]["scope"] == ";".join(f"store_id={s}" for s in wave["stores"])
        moved = orders[orders.store_id.isin(wave["stores"])]
        assert (moved.region == region).all()
        assert (moved.platform == (moved.created_at >= wave["start"]).map({True: "nextgen", False: "legacy"})).all()


# -- the injected causes are really there --------------------------------------------------------------

# (metric, minimum move inside the scope after the start, in the truth's direction)
PRIMARY = {
    "batching_policy": [("on_time_rate", 0.05), ("item_accuracy", 0.008), ("courier_minutes_per_order", 2.0)],
    "courier_shortage": [("on_time_rate", 0.05), ("avg_delivery_minutes", 1.0)],
    "merchant_prep": [("avg_delivery_minutes", 5.0), ("on_time_rate", 0.2)],
    "inventory_oos": [("item_accuracy", 0.06), ("refund_per_order", 0.5), ("support_rate", 0.015)],
    "eta_model_regression": [("on_time_rate", 0.04)],
    "platform_migration": [("item_accuracy", 0.03), ("support_rate", 0.02)],
}


@pytest.mark.parametrize("scenario", sorted(PRIMARY))
def test_effect_is_inside_the_scope_after_the_start_only(outputs, scenario):
    (inj,) = _truth(outputs[scenario])["injections"]
    cells = _before_after(outputs[scenario], inj["scope"], inj["start"])
    for metric, minimum in PRIMARY[scenario]:
        sign = 1 if inj["direction"][metric] == "up" else -1
        inside = sign * (cells[True, True][metric] - cells[True, False][metric])
        outside = sign * (cells[False, True][metric] - cells[False, False][metric])
        assert inside > minimum, (metric, inside)
        assert abs(outside) < minimum / 2, (metric, outside)
    for metric, direction in inj["direction"].items():  # every listed metric moves the stated way
        if metric in METRIC_SQL:
            move = cells[True, True][metric] - cells[True, False][metric]
            assert move * (1 if direction == "up" else -1) > 0, (metric, move)


def test_batching_on_time_drop_is_more_than_three_points_inside_and_not_outside(outputs):
    (inj,) = _truth(outputs["batching_policy"])["injections"]
    cells = _before_after(outputs["batching_policy"], inj["scope"], inj["start"])
    assert cells[True, False]["on_time_rate"] - cells[True, True]["on_time_rate"] > 0.03
    assert abs(cells[False, False]["on_time_rate"] - cells[False, True]["on_time_rate"]) < 0.015
    threshold = duckdb.sql(
        f"SELECT ({_scope_sql(inj['scope'])}) AND created_at >= TIMESTAMP '{inj['start']}' AS treated, "
        f"min(batching_threshold), max(batching_threshold) "
        f"FROM read_parquet('{outputs['batching_policy']}/orders/*.parquet') GROUP BY 1").fetchall()
    assert sorted(threshold) == [(False, 2, 2), (True, 4, 4)]


def test_eta_regression_moves_the_promise_not_the_delivery(outputs):
    (inj,) = _truth(outputs["eta_model_regression"])["injections"]
    cells = _before_after(outputs["eta_model_regression"], inj["scope"], inj["start"])
    delivery_move = cells[True, True]["avg_delivery_minutes"] - cells[True, False]["avg_delivery_minutes"]
    assert abs(delivery_move) < 0.5
    assert cells[True, False]["on_time_rate"] - cells[True, True]["on_time_rate"] > 0.04


def test_none_changes_nothing(outputs):
    assert _digest(outputs["none"] / "orders") != _digest(outputs["batching_policy"] / "orders")
    df = pq.read_table(outputs["none"] / "orders", columns=["batching_threshold", "eta_model"]).to_pandas()
    assert (df.batching_threshold == 2).all() and (df.eta_model == "v2").all()


# -- the command line and bad arguments ---------------------------------------------------------------


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_writes_the_workspace(tmp_path, capsys):
    out = tmp_path / "ws"
    code, stdout, _ = _run(["generate", "cx", "--orders", "3000", "--days", "7", "--seed", "3",
                            "--scenario", "eta_model_regression", "--out", str(out), "--start", "2026-03-02"], capsys)
    assert code == 0 and "3,000 orders" in stdout
    truth = _truth(out)
    assert truth["start"] == "2026-03-02T00:00:00" and truth["end"] == "2026-03-09T00:00:00"
    assert {p.name for p in out.iterdir()} == {"orders", "change_events.csv", "workspace.yaml", "truth.json"}
    # a previous output is replaced in place
    code, _, _ = _run(["generate", "cx", "--orders", "2000", "--days", "7", "--scenario", "none", "--out", str(out)],
                      capsys)
    assert code == 0 and _truth(out)["orders"] == 2000
    assert [p.name for p in tmp_path.iterdir()] == ["ws"]  # no temp folders left behind


@pytest.mark.parametrize(("args", "message"), [
    (["--scenario", "nope"], "unknown scenario 'nope'; valid scenarios: batching_policy, courier_shortage"),
    (["--orders", "0"], "--orders must be at least 1"),
    (["--days", "6"], "--days must be at least 7"),
    (["--start", "01/02/2026"], "--start must be a date like 2026-01-01"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, message):
    argv = {"--orders": "1000", "--days": "7", "--scenario": "none", "--out": str(tmp_path / "ws")}
    argv.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, _, err = _run(["generate", "cx", *[x for kv in argv.items() for x in kv]], capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "ws").exists()


def test_unparsable_or_missing_options_are_usage_errors(tmp_path, capsys):
    code, _, err = _run(["generate", "cx", "--orders", "abc", "--scenario", "none", "--out", str(tmp_path)], capsys)
    assert code == 2 and "Invalid value for '--orders'" in err
    code, _, err = _run(["generate", "cx", "--scenario", "none", "--out", str(tmp_path)], capsys)
    assert code == 2 and "Missing option '--orders'" in err


def test_out_that_is_a_foreign_folder_or_a_file_is_refused(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code, _, err = _run(["generate", "cx", "--orders", "100", "--scenario", "none", "--out", str(foreign)], capsys)
    assert code == 2 and "not empty and is not a previous generator output" in err
    assert (foreign / "notes.txt").read_text() == "keep me"
    code, _, err = _run(["generate", "cx", "--orders", "100", "--scenario", "none",
                         "--out", str(foreign / "notes.txt")], capsys)
    assert code == 2 and "is not a directory" in err


def test_failure_leaves_nothing_half_written(tmp_path, monkeypatch):
    calls = []

    def failing_write(table, where, **kwargs):
        calls.append(where)
        if len(calls) > 1:
            raise OSError("disk full")
        original(table, where, **kwargs)

    original = cx.pq.write_table
    monkeypatch.setattr(cx.pq, "write_table", failing_write)
    with pytest.raises(OSError, match="disk full"):
        generate_cx(20_000, 28, 0, "none", tmp_path / "ws")
    assert list(tmp_path.iterdir()) == []


def test_busy_days_are_cut_into_hour_ranges_and_stay_in_time_order(tmp_path, monkeypatch):
    monkeypatch.setattr(cx, "ROWS_PER_CHUNK", 300)
    result = generate_cx(5_000, 7, 0, "batching_policy", tmp_path / "ws")
    assert result.parts > 7
    df = pq.read_table(tmp_path / "ws" / "orders").to_pandas().sort_values("order_id")
    assert len(df) == 5_000 and (df.order_id.to_numpy() == range(1, 5_001)).all()
    assert df.created_at.is_monotonic_increasing
    assert df.created_at.dt.date.nunique() == 7


def test_progress_reports_every_chunk_up_to_the_total(tmp_path):
    seen = []
    result = generate_cx(5_000, 21, 0, "none", tmp_path / "ws", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 5_000 and len(seen) == result.parts


def test_user_error_is_raised_by_the_library_too(tmp_path):
    with pytest.raises(UserError, match="valid scenarios"):
        generate_cx(10, 7, 0, "Batching", tmp_path / "ws")
