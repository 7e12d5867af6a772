"""What-ifs answered from a kept outcome model: the composition behind `cxw whatif` and the API's what-if.

A what-if fits an outcome model with bootstrap replicates (`recommendations.whatif`); at a million
records that fit is nearly all of its time. The fitted model depends only on the workspace's data and
definition, the scope, the window and the model settings — not on the driver changes asked about — so
the server keeps the last few with their opened workspace (`WhatIfCache`, keyed by a signature of the
workspace file, its record files and change log: size and modification time, read without opening the
records) and answers every later what-if on the same scope from it, with the same numbers and intervals
a fresh fit gives. A change to the data makes a new key.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backend.progress import Progress, silent
from data.sources import OpenWorkspace, open_workspace, record_files
from data.workspace import Workspace, load_workspace
from recommendations import DriverChange, WhatIfResult
from recommendations.records import parse_scope_text
from recommendations.types import scope_text
from recommendations.whatif import WhatIfModel, check_whatif_changes, prepare_whatif, whatif_settings


def data_signature(ws: Workspace) -> str:
    """A hash of the workspace file's content and of the size and modification time of its record files
    and change log: any edit to them changes it (read without opening the records)."""
    parts = [Path(ws.source_file).read_bytes()]
    files = record_files(ws) + ([ws.resolve(ws.changes.path)] if ws.changes is not None else [])
    for f in files:
        st = f.stat()
        parts.append(f"{f}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


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
        self._models: OrderedDict[tuple, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> _Kept | None:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
            return model

    def put(self, key: tuple, kept: _Kept) -> None:
        with self._lock:
            self._models[key] = kept
            self._models.move_to_end(key)
            while len(self._models) > self.size:
                _, old = self._models.popitem(last=False)
                with old.lock:  # after any answer still running on it
                    old.ow.con.close()

    def clear(self) -> None:
        with self._lock:
            for kept in self._models.values():
                with kept.lock:
                    kept.ow.con.close()
            self._models.clear()


CACHE = WhatIfCache()


def whatif_workspace(workspace: str | Path, changes: Sequence[DriverChange], scope: str = "*", *,
                     window_days: float = 7.0, model: str | None = None, bootstrap: int | None = None,
                     cache: WhatIfCache | None = CACHE, progress: Progress = silent) -> WhatIfResult:
    """Predicted change of every metric when drivers change in ``scope`` (`recommendations.whatif`), from
    the kept model of this data, scope, window and settings when ``cache`` holds one (``cache=None``:
    always fit). Each stage is reported to ``progress``."""
    progress("reading the workspace", done=0.0)
    ws = load_workspace(workspace)
    slices = parse_scope_text(scope)
    key = (str(Path(ws.source_file).resolve()), data_signature(ws), scope_text(slices), window_days, model, bootstrap)
    kept = cache.get(key) if cache is not None else None
    if kept is None:
        progress("opening the records", done=0.05)
        ow = open_workspace(ws)
        try:
            check_whatif_changes(ow, changes)  # before the fit: a bad change fails at once
            settings = whatif_settings(ow, model=model, bootstrap=bootstrap)
            prepared = prepare_whatif(ow, slices, settings, window_days=window_days,
                                      progress=lambda stage: progress(stage, done=0.1))
        except BaseException:
            ow.con.close()
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
            kept.ow.con.close()


__all__ = ["CACHE", "WhatIfCache", "data_signature", "whatif_workspace"]
