"""Outputs written so that neither a reader nor a kill ever finds a half-written file in their place.

Every stage writes through here: the content goes to a hidden temporary name in the target's folder
and is renamed into place when complete. Temporary names carry this host and process,
``.<name>.<host>-<pid>.<random>.tmp``; making one first removes the temporaries in that folder left by
processes of this host that no longer exist (a ``kill -9`` mid-write), so such leftovers last only until
the next write to the same folder. Files and folders get ordinary permissions (0666/0777 minus the
umask, e.g. 0644/0755), not the private 0600/0700 of `tempfile.mkstemp`/`mkdtemp`.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from data.processes import host_tag, process_alive

_TEMP = re.compile(r"^\..+\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def sweep(folder: Path) -> None:
    """Remove the temporaries in ``folder`` whose process (on this host) is gone."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return
    mine = host_tag()
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or match["host"] != mine or process_alive(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def temp_path(target: Path) -> Path:
    """A fresh temporary name beside ``target`` (nothing is created; stale temporaries are swept first)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep(target.parent)
    return target.with_name(f".{target.name}.{host_tag()}-{os.getpid()}.{secrets.token_hex(4)}.tmp")


def make_temp_dir(parent: Path, label: str) -> Path:
    """A new temporary folder in ``parent`` with ordinary permissions; the caller removes or renames it."""
    path = temp_path(Path(parent) / label)
    path.mkdir()
    return path


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file and a rename."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
