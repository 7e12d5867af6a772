"""What-ifs answered from a kept outcome model: the composition behind `cxw whatif` and the API's what-if.

A what-if fits an outcome model with bootstrap replicates (`recommendations.whatif`); at a million
records that fit is nearly all of its time. The fitted model (`WhatIfModel`) depends only on the
workspace's data and definition, the scope, the window and the model settings — not on the driver
changes asked about — so it is kept, under a key of exactly those (`whatif_key`; the data enter through
`data_signature`, the size and modification time of the record files and change log and the workspace
file's content, read without opening the records), at two levels:

- in memory (`WhatIfCache`): the last few prepared models with their opened workspace;
- on disk (`WhatIfStore`): the analysis (`cxw analyze`, `cxw job detect`) prepares the model of each
  incident's own what-if — its top recommendation's scope, the default window and settings — reusing
  the outcome model the recommendations fitted when it is the same model (`Scene.fitted_as`), and
  saves it (`keep_incident_whatifs`); the service keeps them per workspace, so the first what-if a user
  runs after an analysis only predicts (a few seconds at a million records instead of a fit).

Every answer from a kept model is the answer a fresh fit gives (same sample, seeds, replicates; the
saved format is exact). A change to the data makes a new key, so a stale model is never used; the store
drops models of older data when it takes new ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backend.progress import Progress, silent
from data.errors import UserError
from data.slices import Slice, scope_text
from data.engines import EngineName
from data.sources import OpenWorkspace, open_workspace, record_file_stamps
from data.workspace import Workspace, load_workspace
from recommendations import DriverChange, WhatIfResult
from recommendations.counterfactual import Scene
from recommendations.records import parse_scope_text
from recommendations.settings import ModelSettings
from recommendations.whatif import (
    DEFAULT_WINDOW_DAYS, WhatIfModel, check_whatif_changes, prepare_whatif, whatif_settings,
)


log = logging.getLogger(__name__)


def data_signature(ws: Workspace) -> str:
    """A hash of the workspace file's content and of the (resolved) path, size and modification time of its
    record files and change log: any edit to them changes it (read without opening the records), and a
    relative or absolute path to the same workspace gives the same signature."""
    parts = [Path(ws.source_file).read_bytes(), *(stamp.encode() for stamp in record_file_stamps(ws))]
    if ws.changes is not None:
        changes = ws.resolve(ws.changes.path)
        st = changes.stat()
        parts.append(f"{changes.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


@dataclass(frozen=True)
class WhatIfKey:
    """What a prepared what-if model depends on: the workspace (file and data), scope, window, settings."""

    workspace: str  # the workspace file, resolved
    data: str  # `data_signature`
    scope: str  # `scope_text` of the parsed scope
    window_days: float
    settings: str  # the resolved `ModelSettings` as JSON

    def name(self) -> str:
        """A folder name for the key (a hash of all of it)."""
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:32]


def whatif_key(ws: Workspace, scope: tuple[Slice, ...], window_days: float, settings: ModelSettings) -> WhatIfKey:
    return WhatIfKey(str(Path(ws.source_file).resolve()), data_signature(ws), scope_text(scope), float(window_days),
                     settings.model_dump_json())


@dataclass
class _Kept:
    """A prepared what-if with the opened workspace it answers on (one answer at a time: a DuckDB
    connection is not shared between threads)."""

    ow: OpenWorkspace
    model: WhatIfModel
    lock: threading.Lock = field(default_factory=threading.Lock)


class WhatIfCache:
    """The last ``size`` prepared what-if models, least recently used out first; thread-safe."""

    def __init__(self, size: int = 8):
        self.size = size
        self._models: OrderedDict[WhatIfKey, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: WhatIfKey) -> _Kept | None:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
            return model

    def put(self, key: WhatIfKey, kept: _Kept) -> None:
        with self._lock:
            self._models[key] = kept
            self._models.move_to_end(key)
            while len(self._models) > self.size:
                _, old = self._models.popitem(last=False)
                with old.lock:  # after any answer still running on it
                    old.ow.close()

    def clear(self) -> None:
        with self._lock:
            for kept in self._models.values():
                with kept.lock:
                    kept.ow.close()
            self._models.clear()


CACHE = WhatIfCache()
KEY_FILE = "key.json"
WHATIF_FOLDER = "whatif"  # beside an analysis's incidents.json: the what-if models it prepared


class WhatIfStore:
    """Prepared what-if models on disk: one folder per key (``<key name>/key.json`` and the model's
    files), written whole to a temporary folder and renamed into place, so a reader never sees half a
    model. At most ``size`` are kept; taking a model drops those of the same workspace on other data."""

    def __init__(self, folder: Path, size: int = 16):
        self.folder = Path(folder)
        self.size = size

    def _keys(self) -> list[tuple[Path, WhatIfKey]]:
        out = []
        for entry in sorted(self.folder.glob(f"*/{KEY_FILE}")) if self.folder.is_dir() else []:
            try:
                out.append((entry.parent, WhatIfKey(**json.loads(entry.read_text()))))
            except (OSError, ValueError, TypeError):
                continue
        return out

    def has(self, key: WhatIfKey) -> bool:
        return (self.folder / key.name() / KEY_FILE).is_file()

    def get(self, key: WhatIfKey) -> WhatIfModel | None:
        folder = self.folder / key.name()
        try:
            stored = WhatIfKey(**json.loads((folder / KEY_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return WhatIfModel.load(folder) if stored == key else None

    def put(self, key: WhatIfKey, model: WhatIfModel) -> None:
        if self.has(key):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".whatif-", dir=self.folder))
        try:
            model.save(work / "model")
            (work / "model" / KEY_FILE).write_text(json.dumps(key.__dict__))
            self._place(work / "model", key)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def adopt(self, other: Path, ws: Workspace) -> int:
        """Take the models of ``other`` (a store an analysis wrote, e.g. beside its incidents.json) that
        belong to ``ws`` on its current data; the number taken."""
        current = (str(Path(ws.source_file).resolve()), data_signature(ws))
        taken = 0
        for folder, key in WhatIfStore(other)._keys():
            if (key.workspace, key.data) != current or self.has(key):
                continue
            self.folder.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=".whatif-", dir=self.folder))
            try:
                shutil.copytree(folder, work / "model")
                self._place(work / "model", key)
                taken += 1
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return taken

    def _place(self, ready: Path, key: WhatIfKey) -> None:
        """Rename a written model into place, then drop the workspace's models of other data and the
        oldest beyond ``size``."""
        try:
            ready.rename(self.folder / key.name())
        except OSError:
            if not self.has(key):  # else another writer placed the same model first
                raise
        entries = self._keys()
        for folder, k in entries:
            if k.workspace == key.workspace and k.data != key.data:
                shutil.rmtree(folder, ignore_errors=True)
        current = sorted((f for f, k in entries if not (k.workspace == key.workspace and k.data != key.data)),
                         key=lambda f: (f / KEY_FILE).stat().st_mtime_ns)
        for folder in current[: max(len(current) - self.size, 0)]:
            shutil.rmtree(folder, ignore_errors=True)


def whatif_workspace(workspace: str | Path, changes: Sequence[DriverChange], scope: str = "*", *,
                     window_days: float = DEFAULT_WINDOW_DAYS, model: str | None = None, bootstrap: int | None = None,
                     cache: WhatIfCache | None = CACHE, store: WhatIfStore | None = None,
                     progress: Progress = silent) -> WhatIfResult:
    """Predicted change of every metric when drivers change in ``scope`` (`recommendations.whatif`), from
    the kept model of this data, scope, window and settings: in ``cache`` (None: no memory cache), else
    in ``store`` (a model an analysis prepared), else fitted now (and kept in ``cache``). Each stage is
    reported to ``progress``."""
    progress("reading the workspace", done=0.0)
    ws = load_workspace(workspace)
    slices = parse_scope_text(scope)
    settings = whatif_settings(ws, model=model, bootstrap=bootstrap)
    key = whatif_key(ws, slices, window_days, settings)
    kept = cache.get(key) if cache is not None else None
    if kept is None and store is not None and store.has(key):
        progress("loading the outcome model the analysis kept", done=0.05)
        prepared = store.get(key)
        if prepared is not None:
            kept = _Kept(open_workspace(ws), prepared)
            if cache is not None:
                cache.put(key, kept)
    if kept is None:
        progress("opening the records", done=0.02)
        ow = open_workspace(ws)
        try:
            check_whatif_changes(ow, changes)  # before the fit: a bad change fails at once
            prepared = prepare_whatif(ow, slices, settings, window_days=window_days,
                                      progress=lambda stage, done: progress(stage, done=0.05 + 0.85 * done))
        except BaseException:
            ow.close()
            raise
        kept = _Kept(ow, prepared)
        if cache is not None:
            cache.put(key, kept)
    progress("predicting every metric with and without the changes", done=0.9, rows=len(kept.model.now))
    try:
        with kept.lock:
            return kept.model.answer(kept.ow, changes)
    finally:
        if cache is None:
            kept.ow.close()


def keep_incident_whatifs(workspace: str | Path, scopes: Iterable[tuple[Slice, ...]], store: WhatIfStore, *,
                          fitted: Sequence[Scene] = (), progress: Progress = silent,
                          engine: EngineName | None = None) -> int:
    """Prepare and save the what-if model of each scope (default window and settings) that ``store`` does
    not hold yet, on every record of the workspace; ``fitted``: outcome models already fitted on every
    record (the recommendations'), used when one is the model a scope needs. The number prepared (a scope
    that has no records in the window now is left out, with a warning in the log). ``engine`` overrides
    the workspace's (as the analysis that asks does)."""
    ws = load_workspace(workspace)
    settings = whatif_settings(ws)
    todo = [s for s in dict.fromkeys(scopes) if not store.has(whatif_key(ws, s, DEFAULT_WINDOW_DAYS, settings))]
    if not todo:
        return 0
    ow = open_workspace(ws, engine=engine)
    kept = 0
    try:
        for i, scope in enumerate(todo):
            what = f"the what-if of {scope_text(scope)} ({i + 1} of {len(todo)})"

            def heard(stage: str, done: float, i: int = i, what: str = what) -> None:
                progress(f"{what}: {stage}", done=(i + done) / len(todo))

            heard("preparing", 0.0)
            try:
                model = prepare_whatif(ow, scope, settings, window_days=DEFAULT_WINDOW_DAYS, fitted=fitted,
                                       progress=heard)
            except UserError as err:  # e.g. an old incident's scope without records in the window now
                log.warning("no what-if model kept for %s: %s", scope_text(scope), err)
                continue
            store.put(whatif_key(ws, scope, DEFAULT_WINDOW_DAYS, settings), model.predict_as_is(ow))
            kept += 1
    finally:
        ow.close()
    return kept


def incident_whatif_scopes(entries: Iterable[dict]) -> list[tuple[Slice, ...]]:
    """The scope of each incident's own what-if, as the UI first asks it: its top recommendation's scope
    (incidents.json entries; those without recommendations have none)."""
    scopes = []
    for entry in entries:
        recs = entry.get("recommendations") or []
        if recs and isinstance(recs[0], dict):
            scopes.append(parse_scope_text(";".join(recs[0].get("scope") or []) or "*"))
    return list(dict.fromkeys(scopes))


__all__ = ["CACHE", "WHATIF_FOLDER", "WhatIfCache", "WhatIfKey", "WhatIfStore", "data_signature", "incident_whatif_scopes",
           "keep_incident_whatifs", "whatif_key", "whatif_workspace"]
