"""Helpers shared by the CLI commands: one way to fail, one way to run an action."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

T = TypeVar("T")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit (2: usage, 1: the work failed)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def run_action(action: Callable[[], T]) -> T:
    """Run ``action``; turn our typed errors into one clear line and exit code 1."""
    from immunetwin.errors import ImmuneTwinError

    try:
        return action()
    except ImmuneTwinError as exc:
        fail(f"{type(exc).__name__}: {exc}", 1)
    except OSError as exc:  # unreadable inputs, unwritable outputs
        fail(f"{exc.strerror or type(exc).__name__}: {exc.filename or exc}", 1)
