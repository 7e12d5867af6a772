"""The workspace contract: one YAML file that describes a dataset, its change log and its metrics.

`load_workspace(path)` parses and validates the file's *structure*; `data.sources.open_workspace`
then validates it against the data (files readable, columns present with usable types, every
expression compiling). Any mistake raises `WorkspaceError` naming the file and the key at fault.
See `documents/workspace.md` for the reference and an example.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data.errors import WorkspaceError, validation_problem
from data.expressions import checked_sql
from data.paths import PathGuard

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Grain = Literal["hour", "day"]
MetricKind = Literal["rate", "mean", "ratio", "composite"]
BUCKET: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}  # a grain's bucket
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # scheme://…: object storage (s3a://, abfss://, gs://), file://


def is_url(path: str) -> bool:
    """Whether a workspace path is a URL (read by Spark's Hadoop file systems) rather than a local path."""
    return URL.match(path) is not None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordsSpec(_Strict):
    """Where the records are and what their columns mean."""

    path: str
    timestamp: str
    grain: Grain = "hour"
    dimensions: list[str] = Field(min_length=1)
    features: list[str] = Field(default_factory=list)
    entity: str | None = None
    id: str | None = None  # the records' unique key (an integer or text column): seeded samples draw by it
    noun: str = Field(default="records", min_length=1, max_length=40)  # what a record is, plural: "orders"
    format: Literal["auto", "parquet", "csv"] = "auto"
    delimiter: str | None = None  # CSV only; sniffed when absent
    header: bool | None = None  # CSV only; sniffed when absent
    encoding: Literal["auto", "utf-8", "latin-1"] = "auto"  # CSV only
    timestamp_unit: Literal["auto", "s", "ms", "us"] = "auto"  # for epoch timestamps

    @field_validator("dimensions", "features")
    @classmethod
    def _unique(cls, names: list[str]) -> list[str]:
        seen = set()
        for name in names:
            if name in seen:
                raise ValueError(f"{name!r} is listed twice")
            seen.add(name)
        return names


class ChangesSpec(_Strict):
    """The change-event log: a CSV with columns ts, name, kind, scope, description."""

    path: str


class MetricSpec(_Strict):
    """One metric. Every non-composite metric is a ratio of per-record sums, sum(X) / sum(Y):

    - ``rate``: X = the boolean ``expr`` as 0/1, Y = 1, over records where ``expr`` is not null;
    - ``mean``: X = ``expr``, Y = 1, over records where ``expr`` is not null;
    - ``ratio``: X = ``numerator``, Y = ``denominator``, over records where both are not null;
    - ``composite``: a weighted sum of other metrics' values; components whose ``good`` is ``down``
      enter as ``1 - value`` (rates) or ``-value`` (other types), so higher is always better.

    ``expr``, ``numerator`` and ``denominator`` are user expressions (`data.expressions`): once validated
    they hold the SQL rendered from their checked parse tree, never the text as written, so every stage
    can put them into a query as they are.
    """

    name: str
    type: MetricKind
    expr: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    weights: dict[str, float] | None = None
    good: Literal["up", "down"] = "up"
    role: Literal["cx", "efficiency", "guardrail"] = "cx"
    unit: str | None = Field(default=None, max_length=20, pattern=r"^[^\s].*$")  # e.g. "min"; a rate's unit is %
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")  # ISO 4217 code of a money metric, e.g. USD
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not IDENTIFIER.match(name):
            raise ValueError(f"{name!r} is not a valid metric name (letters, digits, _)")
        return name

    @field_validator("expr", "numerator", "denominator")
    @classmethod
    def _expression(cls, text: str | None) -> str | None:
        return None if text is None else checked_sql(text)

    @model_validator(mode="after")
    def _fields_for_type(self) -> "MetricSpec":
        need = {
            "rate": ("expr",),
            "mean": ("expr",),
            "ratio": ("numerator", "denominator"),
            "composite": ("weights",),
        }[self.type]
        for key in need:
            if not getattr(self, key):
                raise ValueError(f"a {self.type} metric needs '{key}'")
        allowed = set(need)
        for key in ("expr", "numerator", "denominator", "weights"):
            if key not in allowed and getattr(self, key) is not None:
                raise ValueError(f"'{key}' does not apply to a {self.type} metric")
        if self.type == "composite" and any(w <= 0 for w in self.weights.values()):
            raise ValueError("composite weights must be positive")
        if self.type == "rate" and (self.unit or self.currency):
            raise ValueError("a rate is a share of records (shown in %, its changes in pp): it takes no unit or currency")
        if self.unit and self.currency:
            raise ValueError("give a money metric its 'currency', not a 'unit' too")
        return self


class CubeSpec(_Strict):
    """How the metric cube is built: slices up to ``depth`` dimensions combined."""

    depth: Annotated[int, Field(ge=0, le=4)] = 2


class SparkSpec(_Strict):
    """Where the Spark engine runs (`data.spark`): ``master`` (default: the active session's, else the
    one ``spark-submit`` set, else ``local[*]``) and ``config``, Spark settings such as
    ``spark.sql.shuffle.partitions`` or ``spark.hadoop.fs.s3a.endpoint``."""

    master: str | None = None
    config: dict[str, str] = Field(default_factory=dict)


class Workspace(_Strict):
    """A validated workspace file. Paths in it are resolved against ``root`` (the file's folder)."""

    name: str
    records: RecordsSpec
    changes: ChangesSpec | None = None
    metrics: list[MetricSpec] = Field(min_length=1)
    cube: CubeSpec = Field(default_factory=CubeSpec)
    # Where the record scans run: DuckDB (embedded) or Apache Spark (see documents/spark.md).
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark: SparkSpec = Field(default_factory=SparkSpec)
    # Sections owned by later stages; each stage validates its own.
    detection: dict[str, Any] = Field(default_factory=dict)
    rca: dict[str, Any] = Field(default_factory=dict)
    recommendations: dict[str, Any] = Field(default_factory=dict)
    source_file: Path = Field(default=Path("workspace.yaml"), exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> "Workspace":
        names = [m.name for m in self.metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metrics: duplicate name {dupes[0]!r}")
        by_name = {m.name: m for m in self.metrics}
        for m in self.metrics:
            if m.type != "composite":
                continue
            for component in m.weights:
                if component not in by_name:
                    raise ValueError(f"metrics.{m.name}.weights: {component!r} is not a metric of this workspace")
                if by_name[component].type == "composite":
                    raise ValueError(f"metrics.{m.name}.weights: {component!r} is itself a composite")
        cols = self.records.dimensions + self.records.features
        overlap = set(self.records.dimensions) & set(self.records.features)
        if overlap:
            raise ValueError(f"records: {sorted(overlap)[0]!r} is both a dimension and a feature")
        if self.records.timestamp in cols:
            raise ValueError(f"records: the timestamp {self.records.timestamp!r} cannot be a dimension or feature")
        return self

    @property
    def root(self) -> Path:
        return self.source_file.parent

    def metric(self, name: str) -> MetricSpec:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def resolve(self, relative: str) -> Path:
        """A path from the workspace file, resolved against the file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.root / p


def load_workspace(path: str | Path, guard: PathGuard | None = None) -> Workspace:
    """Read and structurally validate a workspace file; raise `WorkspaceError` naming the key at fault.

    With ``guard``, the file must be one the process may open (`data.paths`), checked before it is read.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "workspace.yaml"
    if guard is not None:
        guard.check(path, str(path), "this file")
    if not path.exists():
        raise WorkspaceError(str(path), "workspace file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WorkspaceError(str(path), f"cannot read: {err}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise WorkspaceError(str(path), f"not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    if not isinstance(raw, dict):
        raise WorkspaceError(str(path), "expected a mapping with keys name, records, metrics")
    try:
        ws = Workspace.model_validate({**raw, "source_file": path.resolve()})
    except ValidationError as err:
        loc, msg = validation_problem(err, raw)
        raise WorkspaceError(str(path), f"{loc}: {msg}" if loc else msg) from None
    return ws
