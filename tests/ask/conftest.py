"""Generated data with a known answer for the question tests: a small CX workspace (42 days from
2026-02-10, so "in March" and "in February" hold data) and a reconciled billing-migration pair."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backend.reconciliation import ReconcileOptions, reconcile
from data.synthetic.billing import generate_billing
from data.sources import open_workspace
from data.synthetic.cx import generate_cx
from metrics.questions.vocabulary import workspace_vocabulary


@pytest.fixture(scope="session")
def cx_workspace(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ask") / "cx"
    generate_cx(12_000, 42, 5, "courier_shortage", out, "2026-02-10")
    return out


@pytest.fixture(scope="session")
def cx_open(cx_workspace):
    """The workspace opened once, with its vocabulary, for the many questions of the golden table."""
    ow = open_workspace(cx_workspace)
    yield ow, workspace_vocabulary(ow)
    ow.con.close()


@pytest.fixture(scope="session")
def cx_records(cx_workspace) -> pd.DataFrame:
    return pd.read_parquet(cx_workspace / "orders")


@pytest.fixture(scope="session")
def recon_output(tmp_path_factory) -> tuple[Path, dict]:
    import json

    root = tmp_path_factory.mktemp("askrecon")
    generate_billing(root / "pair", accounts=3000, seed=2)
    options = ReconcileOptions(legacy=root / "pair" / "legacy.csv", migrated=root / "pair" / "migrated.csv",
                               key=("account_id",), tolerances={"balance": 0.01})
    reconcile(options, root / "recon")
    return root / "recon", json.loads((root / "pair" / "truth.json").read_text())
