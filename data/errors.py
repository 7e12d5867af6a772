"""User-facing errors. Every stage raises these for bad input; the CLI prints one line and exits 2."""

from __future__ import annotations


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
