"""Errors a user can see; each says where the problem is and how to fix it.

The tree::

    HubError (click.ClickException, exit 1)
    ├── ContentError   content/ or mkdocs.yml has problems (exit 2); lists every Problem
    └── BuildError     the site could not be built; the previous site/ is untouched
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

import click


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, as ``path:line:col: field: message``."""

    path: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class HubError(click.ClickException):
    """Base of every error StormHub reports to a user."""


class ContentError(HubError):
    """The hub's files have problems; nothing was written."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        lines = [str(p) for p in self.problems]
        lines.append(f"{count} problem{'s' if count != 1 else ''} found; nothing was written.")
        super().__init__("\n".join(lines))

    def show(self, file: typing.IO[typing.Any] | None = None) -> None:
        click.echo(self.message, file=file, err=file is None)


class BuildError(HubError):
    """The site build failed; the previous site/ was left as it was."""
