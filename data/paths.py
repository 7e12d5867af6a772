"""Which files a process may open for a workspace: checked before anything is opened.

The API server reads workspace files on a user's say-so (a path in a request, an uploaded YAML), so it
passes a `PathGuard` to `data.workspace.load_workspace` and `data.sources.open_workspace`: the
workspace file, every record file and the change log must lie inside one of its ``roots`` and must not
be one of its ``forbidden`` files (the server's own SQLite database and its journal files). Paths are
resolved first (``..`` and symlinks followed), and files are also compared by identity (device and
inode), so neither a symlink nor a hard link reaches a forbidden file. Checking uses ``stat`` only:
opening and closing a SQLite file inside the server process would release the server's own POSIX locks.
The command line, run by whoever owns the files, passes no guard.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from data.errors import WorkspaceError


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclass(frozen=True)
class PathGuard:
    """Files may be opened only inside ``roots`` and never if they are one of ``forbidden``."""

    roots: tuple[Path, ...]
    forbidden: tuple[Path, ...] = ()

    @classmethod
    def of(cls, roots: list[Path] | tuple[Path, ...], forbidden: list[Path] | tuple[Path, ...] = ()) -> "PathGuard":
        return cls(tuple(Path(os.path.realpath(r)) for r in roots),
                   tuple(Path(os.path.realpath(f)) for f in forbidden))

    def check(self, path: str | Path, where: str, label: str | None = None) -> Path:
        """``path`` resolved, or a `WorkspaceError` at ``where`` when the process may not open it."""
        resolved = Path(os.path.realpath(Path(path).expanduser()))
        label = label or str(path)
        if not any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
            raise WorkspaceError(where, f"{label} is outside the folders this server may read")
        identity = _identity(resolved)
        for bad in self.forbidden:
            if resolved == bad or (identity is not None and identity == _identity(bad)):
                raise WorkspaceError(where, f"{label} is the server's own database; it cannot be read as a workspace")
        return resolved
