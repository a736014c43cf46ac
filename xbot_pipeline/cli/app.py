"""The root Typer app; each domain adds its commands in its own module of this package."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from xbot_pipeline.runtime import Runtime, open_runtime
from xbot_pipeline.settings import load_settings

app = typer.Typer(
    name="xbot",
    help="Run an autonomous X account as a Dagster pipeline: queue, publish, recover, monitor, learn.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _validate_settings() -> None:
    # Runs before every command (not for --help): every XBOT_* family is validated at start, so a
    # malformed value stops the command with one line (SettingsError, exit 2) before it does anything.
    load_settings()


class CliError(Exception):
    """Bad input or a failed precondition: printed as one line on stderr, exit code 2."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def runtime() -> Runtime:
    """The store and tracker for the current XBOT_* settings (migrated on first use)."""
    return open_runtime(load_settings())


def write_error_line(message: str) -> None:
    sys.stderr.write(f"xbot: error: {message}\n")
