"""The `pgsearch` command line (typer + rich)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pgsearch import db
from pgsearch.config import DatabaseConfig, get_db_config
from pgsearch.embedded import EmbeddedPostgresError, bin_path, database_running

app = typer.Typer(
    name="pgsearch",
    help="Self-hosted semantic + keyword search on PostgreSQL and pgvector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error and exit (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _terminate(signum: int, frame: object) -> None:
    # Turn SIGTERM into a normal exit so `finally` blocks stop the embedded server.
    raise SystemExit(128 + signum)


@contextmanager
def database(config: DatabaseConfig, *, migrate: bool = True) -> Iterator[None]:
    """The configured database, reachable (and migrated), for the duration of a command."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with database_running(config):
            try:
                with db.get_engine().connect() as conn:
                    conn.execute(text("SELECT 1"))
            except SQLAlchemyError as exc:
                fail(f"cannot connect to {config.describe_target()}: {db.short_error(exc)}")
            if migrate:
                try:
                    db.init_database(echo=lambda msg: console.print(msg, highlight=False))
                except db.DatabaseInitError as exc:
                    fail(str(exc))
            yield
    except EmbeddedPostgresError as exc:
        fail(f"embedded PostgreSQL: {exc}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the HTTP API (starts the embedded database first when DB_HOST is not set)."""
    import uvicorn

    config = get_db_config()
    with database(config):
        console.print(
            f"pgsearch on http://{host}:{port} (docs at /docs), database: "
            f"{config.describe_target()}",
            highlight=False,
        )
        try:
            uvicorn.run(
                "pgsearch.main:app",
                host=host,
                port=port,
                workers=workers,
                log_level=log_level,
                # Let in-flight requests finish on SIGTERM, but do not wait forever.
                timeout_graceful_shutdown=20,
            )
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl-C it already handled gracefully
        except SystemExit as exc:
            if exc.code != 128 + signal.SIGTERM:
                raise
            # Same for SIGTERM: the shutdown was graceful, so exit 0 after stopping the database.


@app.command("init-db")
def init_db() -> None:
    """Enable pgvector and migrate the schema to the newest version."""
    with database(get_db_config()):
        pass


@app.command("db-url")
def db_url(
    show_password: Annotated[
        bool, typer.Option("--show-password", help="Print the password too")
    ] = False,
) -> None:
    """Print the SQLAlchemy URL of the configured database (password hidden by default)."""
    config = get_db_config()
    console.print(config.sync_db_url() if show_password else config.safe_db_url(), highlight=False)


@app.command()
def psql(
    args: Annotated[list[str] | None, typer.Argument(help="Extra psql arguments")] = None,
) -> None:
    """Open psql on the configured database (psql ships with the embedded server)."""
    config = get_db_config()
    url = config.db_url()
    env = dict(os.environ)
    # Passwords go through the environment, never the command line (visible in `ps`).
    env["PGPASSWORD"] = config.DB_PASSWORD.get_secret_value()
    if config.DB_SSLMODE:
        env["PGSSLMODE"] = config.DB_SSLMODE
    host = str(url.query["host"]) if config.embedded else str(url.host)
    command = [str(bin_path() / "psql"), "-h", host, "-U", url.username or "postgres"]
    if not config.embedded:
        command += ["-p", str(url.port)]
    command += ["-d", url.database or "postgres", *(args or [])]
    with database(config, migrate=False):
        code = subprocess.call(command, env=env)
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
