"""`cxw localize DIR --out FILE.json`: root-cause slices for every anomalous instance in a directory.

Reads the layout of the RiskLoc / Squeeze benchmarks: ``DIR/<timestamp>.csv`` holds the leaves of an
additive KPI (dimension columns, ``real``, ``predict``); ``DIR/<timestamp>.a.csv`` and
``DIR/<timestamp>.b.csv`` hold the numerator and denominator leaves of a ratio KPI. Every column but
``real`` and ``predict`` is a dimension. Other files (``injection_info.csv``, notes) are ignored.
Writes the Squeeze output format::

    [{"timestamp": 1600000000, "root_cause": "a=a1&b=b2;a=a3", "elapsed_time": 0.2}, ...]

``elapsed_time`` is the wall time of reading the instance and localizing it, in seconds.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from backend.commands.apps import app
from data.atomic import write_atomically
from data.errors import UserError
from detection.localize import LocalizeConfig, localize, localize_ratio

_LEAF_FILE = re.compile(r"^(\d+)(?:\.([ab]))?\.csv$")
_VALUE_COLUMNS = ("real", "predict")
_PROGRESS_FROM = 5  # instances; fewer are done before a bar would be worth drawing


@dataclass(frozen=True)
class Instance:
    """One anomalous time step: an additive KPI's leaf file, or a ratio KPI's pair of files."""

    timestamp: int
    files: tuple[Path, ...]  # (leaves,) or (numerator, denominator)

    @property
    def is_ratio(self) -> bool:
        return len(self.files) == 2


def find_instances(directory: Path) -> list[Instance]:
    """The instances of a benchmark directory, by timestamp; UserError if there are none."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory")
    single: dict[int, Path] = {}
    parts: dict[int, dict[str, Path]] = {}
    for path in sorted(directory.iterdir()):
        match = _LEAF_FILE.match(path.name)
        if not match or not path.is_file():
            continue
        ts, side = int(match.group(1)), match.group(2)
        if side is None:
            single[ts] = path
        else:
            parts.setdefault(ts, {})[side] = path
    instances = [Instance(ts, (path,)) for ts, path in single.items()]
    for ts, sides in parts.items():
        if ts in single:
            raise UserError(f"{single[ts]}: timestamp {ts} has both a leaf file and ratio files (.a.csv/.b.csv)")
        for side, other in (("a", "b"), ("b", "a")):
            if side in sides and other not in sides:
                raise UserError(f"{sides[side]}: ratio instance without its {other!r} file ({ts}.{other}.csv)")
        instances.append(Instance(ts, (sides["a"], sides["b"])))
    if not instances:
        raise UserError(f"{directory}: no leaf files (<timestamp>.csv, or <timestamp>.a.csv with <timestamp>.b.csv)")
    return sorted(instances, key=lambda inst: inst.timestamp)


def read_leaves(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """A leaf file and its dimension columns; UserError naming the file and column when malformed."""
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a readable CSV file ({str(err).splitlines()[0]})") from None
    for col in _VALUE_COLUMNS:
        if col not in frame.columns:
            raise UserError(f"{path}: missing column {col!r} (a leaf file has dimension columns, real, predict)")
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            raise UserError(f"{path}: column {col!r} is not numeric")
    dims = [c for c in frame.columns if c not in _VALUE_COLUMNS]
    if not dims:
        raise UserError(f"{path}: no dimension column besides real and predict")
    if frame.empty:
        raise UserError(f"{path}: no leaf rows")
    return frame, dims


def localize_instance(instance: Instance, config: LocalizeConfig) -> dict:
    """One record of the Squeeze output format for the instance."""
    params = asdict(config)
    start = time.perf_counter()
    if instance.is_ratio:
        (num, dims), (den, den_dims) = read_leaves(instance.files[0]), read_leaves(instance.files[1])
        if sorted(dims) != sorted(den_dims):
            raise UserError(
                f"{instance.files[1]}: dimension columns {den_dims} differ from {instance.files[0].name}'s {dims}"
            )
        try:
            slices = localize_ratio(num, den, dims, **params)
        except ValueError as err:
            raise UserError(f"{instance.files[0]} / {instance.files[1].name}: {err}") from None
    else:
        leaves, dims = read_leaves(instance.files[0])
        try:
            slices = localize(leaves, dims, **params)
        except ValueError as err:
            raise UserError(f"{instance.files[0]}: {err}") from None
    elapsed = time.perf_counter() - start
    return {
        "timestamp": instance.timestamp,
        "root_cause": ";".join(s.key for s in slices),
        "elapsed_time": round(elapsed, 6),
    }


def localize_directory(directory: Path, config: LocalizeConfig | None = None, progress: bool = False) -> list[dict]:
    """Localize every instance of a benchmark directory, in timestamp order."""
    config = config or LocalizeConfig()
    instances = find_instances(directory)
    console = Console(stderr=True)
    show = progress and len(instances) >= _PROGRESS_FROM
    columns = (TextColumn("localize"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    records = []
    with Progress(*columns, console=console, transient=True, disable=not show) as bar:
        task = bar.add_task("localize", total=len(instances))
        for instance in instances:
            records.append(localize_instance(instance, config))
            bar.advance(task)
    return records


def write_records(records: list[dict], out: Path) -> None:
    """Write the JSON atomically: a reader never sees a half-written file."""
    write_atomically(Path(out), json.dumps(records, indent=1) + "\n")


@app.command("localize")
def localize_command(
    directory: Path = typer.Argument(
        ..., metavar="DIR", help="benchmark directory: <timestamp>.csv, or <timestamp>.a.csv + .b.csv"
    ),
    out: Path = typer.Option(..., "--out", "-o", help="JSON file to write (Squeeze output format)"),
    penalty: float = typer.Option(LocalizeConfig.penalty, help="price of a slice per ln(candidates of its depth)"),
    max_depth: int = typer.Option(0, "--max-depth", help="deepest slice considered (0: every dimension)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no summary"),
) -> None:
    """Localize the root-cause slices of every anomalous instance in DIR (RiskLoc/Squeeze layout)."""
    config = LocalizeConfig(penalty=penalty, max_depth=max_depth or None)
    records = localize_directory(directory, config, progress=not quiet)
    write_records(records, out)
    if not quiet:
        found = sum(bool(r["root_cause"]) for r in records)
        mean = sum(r["elapsed_time"] for r in records) / len(records)
        Console(stderr=True).print(
            f"{len(records)} instances, {found} with root causes, {mean:.3f} s per instance -> {out}"
        )
