"""The Alembic migrations create exactly the models' schema, on SQLite and PostgreSQL, and go down and up."""

import copy

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import sessionmaker

from backend.actors import Actor
from backend.crud import incidents, workspaces

from backend.db import _alembic_config, head_revision, make_engine, migrate
from backend.models import Base
from backend.schemas.incident import IncidentDetail


def test_migrated_schema_matches_the_models(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert context.get_current_revision() == head_revision()
    engine.dispose()


def test_downgrade_and_upgrade_again(db_url):
    engine = make_engine(db_url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    migrate(engine)  # idempotent
    assert {"incident", "audit", "outbox", "api_token"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x' / 'cxw.db'}")
    migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_sqlite_checkouts_never_wait_for_the_pool(tmp_path):
    """Reads on the event loop check out connections there: more than pool size + any overflow at once must
    not block (the pool would wait for connections that only the blocked loop could give back)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    engine.pool._timeout = 0.5  # a wait, if there were one, fails fast instead of after 30 s
    connections = [engine.connect() for _ in range(64)]
    assert all(c.execute(sa.text("SELECT 1")).scalar() == 1 for c in connections)
    for c in connections:
        c.close()


def _schema_1(entry: dict) -> dict:
    """An incidents.json entry as the engine wrote it before schema 2 (revision 0005's rows): the RCA's notes
    under ``notes``, slices of the regression as dataclass dicts, intervals as lists or without a level, the
    timing's change-point interval and the event study's periods as pairs, ``affected_orders_per_day``."""
    old = copy.deepcopy(entry)
    old["notes"] = ["no candidate reaches the bar"]
    for s in old["symptoms"]:
        s["change_interval"] = {k: s["change_interval"][k] for k in ("low", "high")}
    cause = old["causes"][0]
    cause["evidence"]["did"]["interval"] = [-0.19, -0.13]
    timing = cause["evidence"]["timing"]["detail"]
    timing["change_point_interval"] = [timing["change_point_interval"]["low"], timing["change_point_interval"]["high"]]
    cause["evidence"]["event_study"] = {"test": "event_study", "effect": -0.1, "interval": None, "p_value": 0.5,
                                        "supports": True, "rule": "", "detail": {
                                            "testable": True, "periods": [{"k": 0, "effect": -0.1, "low": -0.2,
                                                                           "high": 0.0}]}}
    old["regression"] = {"id": old["id"], "metric": old["metric"], "direction": old["direction"],
                         "start": old["start"], "end": old["end"], "baseline": 0.91, "current": 0.74, "change": -0.17,
                         "change_interval": {"low": -0.2, "high": -0.14, "level": 0.95}, "relative_change": -0.19,
                         "relative_interval": {"low": None, "high": None, "level": 0.95}, "p_value": 1e-5,
                         "q_value": 1e-4, "slice": {"filters": [], "share": 0.0, "score": 0.0},
                         "slices": [{"filters": [["region", "north"]], "share": 0.83, "score": 2.0}],
                         "detectors": ["cusum"], "grain": "hour", "baseline_start": None, "support": 100,
                         "extra": {"good": "up", "members": 2, "member_slices": ["region=north"]}}
    for rec in old["recommendations"]:
        rec["affected_orders_per_day"] = rec["impact"]["orders_per_day"]
    return old


def test_stored_incidents_of_schema_1_read_as_typed_details_after_0006(db_url, workspace_path):
    """A row stored at revision 0005 (the engine's schema-1 entry) is rewritten by 0006 into the typed entry:
    the API's incident detail validates it, every number and test as it was."""
    from tests.backend.conftest import fixture_incidents

    engine = make_engine(db_url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    old = _schema_1(fixture_incidents()[0])
    sessions = sessionmaker(engine)
    with sessions.begin() as s:
        ws = workspaces.register(s, workspace_path, Actor("t", "cli"))
        inc = incidents.upsert(s, ws, fixture_incidents()[:1], Actor("t", "cli")).created[0]
        inc.payload = old
        incident_id = inc.id
    migrate(engine)
    with sessions() as s:
        detail = IncidentDetail.model_validate(incidents.detail(s, incidents.get(s, incident_id)))
    assert detail.analysis_notes == ("no candidate reaches the bar",) and detail.notes == ""
    did = detail.causes[0].evidence["did"]
    assert (did.interval.low, did.interval.high) == (-0.19, -0.13)
    study = detail.causes[0].evidence["event_study"]
    assert study.detail.periods[0].interval.high == 0.0
    assert detail.regression.slices[0].key == "region=north" and detail.regression.slices[0].share == 0.83
    assert detail.regression.extra.member_slices == ("region=north",)
    assert detail.recommendations[0].impact.orders_per_day == 900.0
    engine.dispose()
