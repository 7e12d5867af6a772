"""The one analysis path: metric cube → detection → root causes → recommendations, for a workspace.

`analyze_workspace` is what `cxw analyze`, the detection job (`cxw job detect`, the scheduler and
``POST /api/workspaces/{id}/detect``) run, so an incident stored by the job is the same incident, with
the same recommendations and experiment plan, that `cxw analyze` writes to ``incidents.json``.
`whatif_workspace` (`backend.whatif`, which keeps fitted what-if models) is the one what-if path (`cxw whatif`
and the API's what-if); an analysis given ``keep_whatifs`` prepares each incident's what-if model for it.

``since`` limits the work to new data: detection scans exactly the buckets from the first one holding a
record newer than ``since``, against the baseline just before them; the later stages read the records
from ``baseline_days`` (plus one day of slack for sparse first buckets) before those buckets. The cube
aggregates only the new buckets and splices them into the stored cube when the ``cube`` folder holds one
of this workspace (same cube SQL: metrics, dimensions, depth, grain; see `cube_fingerprint`); otherwise
it is (re)built in that folder over every record, so the workspace always ends a run with a whole cube
(without a ``cube`` folder, the run's cube is built from the records it reads and kept in the engine for the
run, `metrics.cube.EngineCube`: never written). Without a record
newer than ``since`` nothing is read beyond one aggregate and the answer says so (``scanned is None``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from backend.progress import Progress, silent
from backend.whatif import WhatIfStore, incident_whatif_scopes, keep_incident_whatifs, whatif_workspace
from data.engines import EngineName
from data.errors import UserError
from data.narrative import TEMPLATES, Narrator
from data.sources import OpenWorkspace, open_workspace, quote, sql_literal
from data.workspace import BUCKET
from detection.config import DetectionConfig, detection_config
from detection.scan import check_span, scan
from metrics.cube import CubeInfo, EngineCube, build_cube, check_metrics_have_values, compile_cube_sql, splice_cube
from rca.analyze import analyze as explain_regressions
from rca.types import Incident
from recommendations import Recommender, render_markdown
from recommendations.incidents_io import IncidentRecommendations

# The record scans of a run, every one through the workspace's engine (`OpenWorkspace.engine`, so Spark for
# ``engine: spark``; see documents/spark.md).
ENGINE_SCANS = ("metric value check", "record span", "metric cube", "localization leaves",
                "root-cause slice series", "DiD panels", "scope counts", "recommendation window sums",
                "recommendation daily series", "experiment clusters", "what-if scans",
                "time range and distinct counts", "root-cause candidates, cardinalities and SHAP samples",
                "model samples")
HISTORY_SLACK = timedelta(days=1)  # extra history read before the baseline, so a sparse first bucket cannot shorten it


@dataclass(frozen=True)
class Scanned:
    """What a detection run read and scanned: records from ``records_from`` (null: all of them), aggregated
    into the cube from ``cube_from`` (null: all it read; later buckets were spliced into the stored cube);
    the buckets ``[window_start, end)`` against the baseline ``[baseline_start, window_start)``."""

    records_from: datetime | None
    cube_from: datetime | None
    baseline_start: datetime
    window_start: datetime
    end: datetime


@dataclass(frozen=True)
class WorkspaceAnalysis:
    """What `analyze_workspace` found: the incidents (most severe first), their incidents.json document,
    what was scanned (None: no new data, nothing analysed), the cube it built and the stage timings."""

    workspace: str
    incidents: tuple[Incident, ...]
    document: dict
    regressions: int
    scanned: Scanned | None
    cube: CubeInfo | None
    timings: dict[str, float] = field(default_factory=dict)
    files: tuple[Path, ...] = ()


class RecommendationEnricher:
    """Recommendations and an experiment plan for every conclusive incident, next steps for every
    inconclusive one (`rca.analyze`'s ``enrich`` hook).

    ``prepare(ow, incidents)`` (called once before the first incident) fits the outcome model for all of
    them (`recommendations.Recommender`); each call then ranks one incident's own actions against its own
    metric, reusing the impact estimates of incidents with the same cause. ``top`` limits the work to the
    ``top`` most severe incidents (None: all). Each stage is reported to ``progress``; ``narrate`` words the
    PM summary of the report's recommendations section (`recommendations.render_markdown`).
    """

    def __init__(self, top: int | None = None, progress: Progress = silent, narrate: Narrator = TEMPLATES):
        self.top = top
        self.progress = progress
        self.narrate = narrate
        self.recommender: Recommender | None = None
        self.done = 0
        self.total = 0

    def prepare(self, ow: OpenWorkspace, incidents: list[Incident]) -> None:
        chosen = incidents[: self.top] if self.top is not None else incidents
        self.total = len(chosen)
        self.progress(f"fitting the outcome model for {self.total} incident(s)")
        self.recommender = Recommender(ow).prepare(chosen)

    def __call__(self, ow: OpenWorkspace, incident: Incident, entry: dict) -> dict:
        if self.top is not None and self.done >= self.top:
            return {}
        self.done += 1
        self.progress(f"recommending for incident {self.done} of {max(self.total, self.done)}",
                      done=(self.done - 1) / max(self.total, self.done))
        if self.recommender is None:
            self.recommender = Recommender(ow)
        recset = self.recommender.recommend(incident, incident_id=incident.regression.id)
        return {**IncidentRecommendations.of(recset).model_dump(mode="json"),
                "recommendations_markdown": render_markdown(recset, heading_level=3, narrate=self.narrate)}


def _records(ow: OpenWorkspace) -> int:
    """Records the run reads (the view ``records``, limited to the run's span)."""
    return int(ow.engine.row("SELECT count(*) FROM records")[0])


def new_data_start(ow: OpenWorkspace, since: datetime) -> datetime | None:
    """The first bucket holding a record newer than ``since`` (None: no such record); one aggregate on the
    workspace's engine."""
    ws = ow.workspace
    ts = quote(ws.records.timestamp)
    row = ow.engine.row(f"SELECT date_trunc('{ws.records.grain}', min({ts})) FROM records WHERE {ts} > ?", [since])
    return row[0] if row and row[0] is not None else None


def limit_records(ow: OpenWorkspace, start: datetime) -> None:
    """Restrict the workspace engine's view ``records`` to the records at or after ``start``
    (`data.engines.DuckDBEngine.restrict`); callable again."""
    ts = quote(ow.workspace.records.timestamp)
    # a view takes no parameters; ``start`` is a datetime, written as an ISO literal
    ow.engine.restrict(f"{ts} >= CAST({sql_literal(start.isoformat(sep=' '))} AS TIMESTAMP)")


def cube_fingerprint(ow: OpenWorkspace) -> str:
    """A hash of the SQL that builds the workspace's cube: a stored cube with another fingerprint was built
    for other metrics, dimensions, depth or grain and cannot take new buckets."""
    wide, long = compile_cube_sql(ow.workspace)
    return hashlib.sha256(f"{wide}\n{long}".encode()).hexdigest()


FINGERPRINT = "cube.fingerprint"


def build_stored_cube(ow: OpenWorkspace, folder: Path) -> CubeInfo:
    """Build the workspace's cube in ``folder`` with its fingerprint, so later runs can add buckets to it
    (the old fingerprint goes first: a cube never carries one it was not built with)."""
    (folder / FINGERPRINT).unlink(missing_ok=True)
    info = build_cube(ow, folder)
    (folder / FINGERPRINT).write_text(cube_fingerprint(ow))
    return info


def _reusable(folder: Path | None, ow: OpenWorkspace) -> bool:
    mark = folder / FINGERPRINT if folder is not None else None
    return (mark is not None and mark.is_file() and (folder / "cube.parquet").is_file()
            and mark.read_text() == cube_fingerprint(ow))


def ensure_stored_cube(ow: OpenWorkspace, folder: Path) -> CubeInfo | None:
    """Build the workspace's cube in ``folder`` (`build_stored_cube`) unless it already holds this
    workspace's cube (same fingerprint) over exactly its current records: the same last bucket and the
    same record count. Returns the `CubeInfo` when it built one, None when the stored cube was current."""
    if _reusable(folder, ow):
        ws = ow.workspace
        last, records = ow.engine.row(f"SELECT date_trunc('{ws.records.grain}', max({quote(ws.records.timestamp)})), "
                                      "count(*) FROM records")
        try:
            stored = json.loads((folder / "cube.json").read_text())
            current = (last is not None and stored.get("end") is not None and stored.get("records") == records
                       and datetime.fromisoformat(stored["end"]) == last)
        except (OSError, ValueError, TypeError):
            current = False
        if current:
            return None
    return build_stored_cube(ow, folder)


def _incremental(ow: OpenWorkspace, config: DetectionConfig, since: datetime, stored: Path | None, scratch: Path
                 ) -> tuple[DetectionConfig, Path | None, datetime, datetime | None, CubeInfo | None] | None:
    """Detection settings, cube and records for a run over the buckets after ``since`` (None: no new
    record). The stored cube takes the new buckets when it can; else the run's cube holds every bucket
    the run reads (cube file None without a ``stored`` folder: the caller keeps that cube in the engine,
    over the records left in view)."""
    first = new_data_start(ow, since)
    if first is None:
        return None
    ws = ow.workspace
    step = BUCKET[ws.records.grain]
    last = ow.engine.row(f"SELECT date_trunc('{ws.records.grain}', max({quote(ws.records.timestamp)})) FROM records")[0]
    hours = (last + step - first) / timedelta(hours=1)
    records_from = first - config.baseline - HISTORY_SLACK
    info = None
    if stored is not None and _reusable(stored, ow):
        limit_records(ow, first)
        build_cube(ow, scratch)
        info = splice_cube(stored, scratch, first)
        cube_file, cube_from = stored / "cube.parquet", first
    elif stored is not None:
        # no cube of this workspace there yet (a first run that stored an incidents.json, or a cube built
        # for other metrics, dimensions, depth or grain): build it over every record, so the workspace has
        # a whole cube (series, drill-down) and the next run splices its new buckets into it
        info = build_stored_cube(ow, stored)
        cube_file, cube_from = stored / "cube.parquet", None
    else:
        cube_file, cube_from = None, None
    limit_records(ow, records_from)
    return config.model_copy(update={"window": f"{hours:g}h"}), cube_file, records_from, cube_from, info


def engine_note(ow: OpenWorkspace) -> str | None:
    """For a workspace on Spark: the scans that run there (None on DuckDB)."""
    if ow.engine.name == "duckdb":
        return None
    return (f"engine {ow.engine.name}: every record scan runs on {ow.engine.name} ({', '.join(ENGINE_SCANS)}); "
            "DuckDB only checked the workspace when it was opened")


def analyze_workspace(workspace: str | Path | OpenWorkspace, out: str | Path | None = None, *,
                      since: datetime | None = None, cube: str | Path | None = None,
                      metrics: Sequence[str] | None = None, max_incidents: int = 20,
                      recommend: int | None = None, progress: Progress = silent,
                      engine: EngineName | None = None, narrate: Narrator = TEMPLATES,
                      keep_whatifs: str | Path | None = None) -> WorkspaceAnalysis:
    """Detect, explain and recommend for ``workspace``; write ``out/incidents.json`` and ``out/report.md``.

    ``since``: only buckets with records newer than it are scanned (see the module docstring). ``cube``: a
    cube.parquet to reuse (full runs only), or the folder of the workspace's cube: a full run (re)builds it
    there, a run over new data splices its buckets into it when it can (default: a cube kept in the engine
    for the run, never written).
    ``metrics``: keep only those metrics' regressions; ``max_incidents``: explain the most severe;
    ``recommend``: recommend for the N most severe incidents (None: all; 0: none). The result's ``cube``
    is the `CubeInfo` of the cube in the ``cube`` folder when this run built or spliced it. Each stage is
    reported to ``progress`` (`backend.progress`). ``engine`` overrides the workspace's (for a path; an
    opened workspace keeps its own): on ``spark`` every scan (`ENGINE_SCANS`) runs on Spark (a run over new
    data too: the engine's ``records`` is limited to its span, `limit_records`). ``narrate`` words the report's
    narrative paragraphs (the causes' summaries, the inconclusive verdicts, the PM summaries; `data.narrative`): default the templates' text, or a
    language model's rewording that keeps every number (`backend.llm.narrator_from_settings`).
    ``keep_whatifs``: a folder (`backend.whatif.WhatIfStore`) in which to keep, for every incident with recommendations, the outcome model of its what-if (its top
    recommendation's scope; the recommendations' own model when it is the same), so that what-if
    answers without a fit.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    if max_incidents < 0:
        raise UserError(f"--max-incidents must be 0 or more (got {max_incidents})")
    progress("opening the workspace")
    ow = workspace if isinstance(workspace, OpenWorkspace) else open_workspace(workspace, engine=engine)
    ws = ow.workspace
    check_metrics_have_values(ow)
    for m in metrics or ():
        if m not in {x.name for x in ws.metrics}:
            raise UserError(f"--metric {m!r} is not a metric of {ws.source_file} "
                            f"({', '.join(x.name for x in ws.metrics)})")
    given = Path(cube) if cube is not None else None
    reuse = given is not None and given.suffix == ".parquet"
    if given is not None and reuse and not given.is_file():
        raise UserError(f"--cube {cube}: no such file")
    if reuse and since is not None:
        raise UserError("a run limited to new data builds its own cube; give the cube's folder, not a cube.parquet")
    folder = None if reuse else given
    config = detection_config(ws)
    scratch = Path(tempfile.mkdtemp(prefix=".cxw-cube-"))
    with ExitStack() as held:
        held.callback(shutil.rmtree, scratch, ignore_errors=True)
        clock_cube = time.perf_counter()
        info: CubeInfo | None = None
        records_from = cube_from = None
        if since is not None:
            progress("building the metric cube of the new data")
            limited = _incremental(ow, config, since, folder, scratch)
            if limited is None:
                return WorkspaceAnalysis(ws.name, (), {"workspace": ws.name, "incidents": []}, 0, None, None,
                                         {"open": time.perf_counter() - clock})
            config, cube_file, records_from, cube_from, info = limited
        else:
            check_span(ow, config)
            if given is not None and reuse:
                cube_file = given
            elif folder is not None:
                progress("building the metric cube", rows=_records(ow))
                info = build_stored_cube(ow, folder)
                cube_file = folder / "cube.parquet"
            else:
                progress("building the metric cube", rows=_records(ow))
                cube_file = None
        # without a cube folder the run's cube stays in the engine (nothing written and read back)
        cube: Path | EngineCube = cube_file if cube_file is not None else held.enter_context(EngineCube(ow))
        timings["open"] = clock_cube - clock
        timings["metrics"] = time.perf_counter() - clock_cube
        clock = time.perf_counter()
        progress("detecting regressions", rows=_records(ow))
        result = scan(ow, cube, config)
        timings["detect"] = time.perf_counter() - clock
    scanned = Scanned(records_from, cube_from, result.baseline.start, result.window.start, result.window.end)
    narrate = narrate if out is not None else TEMPLATES  # no report, nothing to word
    enrich = None if recommend == 0 else RecommendationEnricher(recommend, progress, narrate)
    kept = [r for r in result.regressions if not metrics or r.metric in metrics]
    progress(f"explaining {min(len(kept), max_incidents)} regression(s)")
    analysis = explain_regressions(ow, out, regressions=result.regressions, metrics=list(metrics or []) or None,
                                   max_incidents=max_incidents, enrich=enrich, timings=timings, narrate=narrate)
    if keep_whatifs is not None and enrich is not None:
        clock = time.perf_counter()
        # the recommendations' outcome models were fitted on every record only in a full run
        fitted = enrich.recommender.scenes_ if enrich.recommender is not None and since is None else []
        keep_incident_whatifs(ws.source_file, incident_whatif_scopes(analysis.document["incidents"]),
                              WhatIfStore(Path(keep_whatifs)), fitted=fitted, progress=progress,
                              engine=ow.engine.name)
        analysis.timings["whatif"] = time.perf_counter() - clock
    return WorkspaceAnalysis(ws.name, analysis.incidents, analysis.document, analysis.regressions, scanned, info,
                             analysis.timings, analysis.files)


__all__ = ["ENGINE_SCANS", "RecommendationEnricher", "Scanned", "WorkspaceAnalysis", "analyze_workspace",
           "build_stored_cube", "cube_fingerprint", "engine_note", "ensure_stored_cube", "limit_records", "new_data_start",
           "whatif_workspace"]
