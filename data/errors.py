"""User-facing errors. Every stage raises these for bad input; the CLI prints one line and exits 2."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class UserError(Exception):
    """A mistake in what the user gave us (a file, a key, a column, an expression).

    The message is one line that names the file and the key, column or expression at fault.
    """

    exit_code = 2


class WorkspaceError(UserError):
    """The workspace file or a file it points to is invalid."""

    def __init__(self, where: str, problem: str):
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


def validation_problem(err: ValidationError, data: Any) -> tuple[str, str]:
    """The first problem pydantic found in ``data`` as (where, what).

    ``where`` is the path of keys, ``metrics.on_time_rate.expr`` style: a list item by its ``id`` or ``name``
    (else ``[i]``), pydantic's own steps (validator functions, union tags) left out; ``""`` for the whole.
    ``what`` is "unknown key", "required key is missing" or the validator's message.
    """
    first = err.errors()[0]
    parts: list[str] = []
    node = data
    for item in first["loc"]:
        if isinstance(item, int) and isinstance(node, list):
            entry = node[item] if item < len(node) else None
            name = entry.get("id") or entry.get("name") if isinstance(entry, dict) else None
            parts.append(str(name) if name else f"[{item}]")
            node = entry
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    where = ".".join(p for p in parts if not p.startswith(("function-", "tagged-")))
    what = {"extra_forbidden": "unknown key", "missing": "required key is missing"}.get(
        first["type"], first["msg"].removeprefix("Value error, "))
    return where, what
