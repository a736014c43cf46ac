"""The `xbot` command. Domain modules register their commands on the shared Typer app."""

from __future__ import annotations

import logging
import signal
import sys

import click
import sqlalchemy as sa

from xbot_pipeline.cli import accounts, db, demo, learning, status, ui  # noqa: F401  (registers commands)
from xbot_pipeline.cli import posting as _posting_cli  # noqa: F401  (registers `xbot enqueue` and friends)
from xbot_pipeline.cli import sandbox as _sandbox_cli  # noqa: F401  (registers `xbot sandbox`)
from xbot_pipeline.cli.app import CliError, app, write_error_line
from xbot_pipeline.events.redact import install_log_redaction
from xbot_pipeline.settings import SettingsError


def _honour_interrupts() -> None:
    """A shell starts background commands with SIGINT ignored, and Python (and anything it execs, such as
    `dagster dev` and its webserver and daemon) would keep ignoring it: `kill -INT` or Ctrl-C forwarded by a
    supervisor then never stops `xbot sandbox serve` or `xbot ui`. Take the default interrupt back."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> None:
    _honour_interrupts()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    try:
        app(standalone_mode=False)
    except (CliError, SettingsError, ValueError) as exc:
        write_error_line(str(exc))
        sys.exit(2)
    except click.exceptions.Abort:
        write_error_line("aborted")
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        write_error_line(exc.format_message())
        sys.exit(exc.exit_code or 2)
    except sa.exc.OperationalError as exc:
        write_error_line(f"the store cannot be reached: {str(exc.orig).strip().splitlines()[0]}")
        sys.exit(3)
    except KeyboardInterrupt:
        sys.exit(130)
