"""The `pgsearch` command line (typer + rich)."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session

from pgsearch import db, native
from pgsearch.analysis import UnknownLanguage, parse_language
from pgsearch.config import DatabaseConfig, get_db_config, get_settings
from pgsearch.embedded import bin_path, database_running
from pgsearch.embedding import Embedder, for_queries, get_embedder
from pgsearch.errors import InvalidInput, PgsearchError, UserNotFound
from pgsearch.ingest.discovery import iter_files
from pgsearch.ingest.files import FileParseError
from pgsearch.schemas import SearchRequest, UserCreate, validation_message
from pgsearch.search.filters import FilterError, parse_filter_json
from pgsearch.services import index as index_service
from pgsearch.services import reanalyze as reanalyze_service
from pgsearch.services import search as search_service
from pgsearch.services import users as users_service
from pgsearch.services.ingest import ingest_files
from pgsearch.services.startup import prepare_database

app = typer.Typer(
    name="pgsearch",
    help="Self-hosted semantic + keyword search on PostgreSQL and pgvector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# soft_wrap: long lines (URLs, messages) stay whole when piped, instead of wrapping at 80 columns.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _count(n: int, noun: str) -> str:
    """ "1 file", "2 files"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error and exit (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.callback()
def _check_configuration() -> None:
    """Validate settings up front: a bad value is a one-line error, never a traceback."""
    try:
        get_db_config()
        get_settings()
    except ValidationError as exc:
        # Only the field and the problem: the value may be a secret.
        fail(f"invalid configuration: {validation_message(exc)}")


def embedder() -> Embedder:
    """The configured built-in embedding model (an unknown name is a one-line error)."""
    return get_embedder(get_settings().embedding_model)


def _terminate(signum: int, frame: object) -> None:
    # Turn SIGTERM into a normal exit so `finally` blocks stop the embedded server.
    raise SystemExit(128 + signum)


@contextmanager
def database(
    config: DatabaseConfig,
    *,
    migrate: bool = True,
    check_embedder: bool = True,
    verbose: bool = False,
) -> Iterator[None]:
    """The configured database, reachable (and migrated), for the duration of a command."""
    signal.signal(signal.SIGTERM, _terminate)
    with database_running(config):
        prepare_database(
            migrate=migrate,
            embedder=embedder() if check_embedder else None,
            # Progress lines for init-db and serve; other commands keep stdout for their own
            # output (a search table may be piped).
            say=(lambda msg: console.print(msg, highlight=False)) if verbose else (lambda _: None),
        )
        yield


def _check_port_free(host: str, port: int) -> None:
    """Fail before starting anything when the address is taken (e.g. a second `serve`)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}: {exc.strerror}")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror} (is pgsearch already running?)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# Seconds a worker may take to answer uvicorn's health check, at startup and after.
WORKER_HEALTHCHECK_S = 60


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request")
    ] = True,
) -> None:
    """Run the HTTP API (starts the embedded database first when DB_HOST is not set)."""
    import uvicorn

    from pgsearch.api.server import HttpProtocol

    if not _is_loopback(host) and not get_settings().auth_enabled:
        fail(
            f"refusing to serve on {host} without authentication: anyone on the network could "
            "read and change every document. Set PGSEARCH_ADMIN_KEY (16+ characters) to require "
            "API keys, or serve on 127.0.0.1"
        )
    _check_port_free(host, port)
    config = get_db_config()
    with database(config, verbose=True):
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
                access_log=access_log,
                http=HttpProtocol,
                # Let in-flight requests finish on SIGTERM, but do not wait forever.
                timeout_graceful_shutdown=20,
                # A new worker answers uvicorn's health check only once it has imported
                # pgsearch; on a busy machine that took longer than uvicorn's 5 s, and workers
                # were killed and respawned in a loop.
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
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
    with database(get_db_config(), verbose=True):
        pass


@app.command("build-extension")
def build_extension(
    pg_config: Annotated[
        Path | None,
        typer.Option(help="The server's pg_config (default: the embedded server's)"),
    ] = None,
) -> None:
    """Build pgsearch's C extension (faster keyword search) into a PostgreSQL server's folders.

    For a server of your own: run it as a user who may write there, then `pgsearch init-db` as
    a database superuser. The embedded server gets it at start, without this command.
    """
    library = native.build(pg_config or bin_path() / "pg_config")
    typer.echo(f"installed {library}")


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


def _parse_metadata(pairs: list[str]) -> dict[str, Any]:
    """`key=value` options; values are JSON when they parse (`year=2024`, `draft=true`)."""
    metadata: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--metadata takes key=value, got {pair!r}", code=2)
        try:
            metadata[key.strip()] = json.loads(raw)
        except ValueError:
            metadata[key.strip()] = raw
    return metadata


def _require_user(user_id: int) -> None:
    with db.get_sessionmaker()() as session:
        try:
            users_service.get_user(session, user_id)
        except UserNotFound as exc:
            fail(f"{exc.message} (create one with `pgsearch create-user NAME`)")


def _expand(
    paths: list[Path],
) -> tuple[list[tuple[Path, Path | None]], list[str], list[tuple[Path, str]]]:
    """(file, root) pairs to ingest, errors for paths that cannot be read, and the files in
    folders that no reader takes, with why."""
    files: list[tuple[Path, Path | None]] = []
    errors: list[str] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        try:
            # Ids are relative to a folder argument; a file argument is named by its file name.
            root = path if path.is_dir() else path.parent
            found = iter_files([path], on_skip=lambda p, reason: skipped.append((p, reason)))
            files.extend((f, root) for f in found)
        except FileParseError as exc:
            errors.append(str(exc))
    return files, errors, skipped


def _skip_summary(skipped: list[tuple[Path, str]]) -> str:
    """ "39 skipped: 20 binary, 19 unsupported .xyz" (most common reason first)."""
    counts = Counter(reason for _, reason in skipped)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return f"{len(skipped)} skipped: " + ", ".join(f"{n} {reason}" for reason, n in ranked)


def _failed(message: str, console_: Console) -> None:
    console_.print(f"[red]failed:[/] {message}", highlight=False, soft_wrap=True)


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders (pdf, docx, html, md, rst, txt, json, jsonl, text files "
            "without a suffix, and .gz of any of these)"
        ),
    ],
    user: Annotated[int, typer.Option("--user", "-u", min=1, help="Owner's user id")],
    metadata: Annotated[
        list[str] | None, typer.Option("--metadata", "-m", help="key=value added to every document")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=1000, help="Documents per transaction")
    ] = 64,
    max_file_bytes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Largest file, as stored and unpacked (default: PGSEARCH_MAX_FILE_BYTES, 50 MB)",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every skipped file and why")
    ] = False,
) -> None:
    """Store files as documents of a user; unchanged files are left as they are, files no reader
    takes are counted as skipped, and files that cannot be read or stored are listed as failed
    (exit code 1 when any failed)."""
    extra = _parse_metadata(metadata or [])
    limit = max_file_bytes or get_settings().max_file_bytes
    files, errors, skipped = _expand(paths)
    for error in errors:
        _failed(error, err_console)
    if verbose:
        for path, reason in skipped:
            err_console.print(f"[yellow]skipped:[/] {path} ({reason})", highlight=False)
    with database(get_db_config()):
        _require_user(user)
        model = embedder()
        totals = {"inserted": 0, "updated": 0, "unchanged": 0, "failed": len(errors)}
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} files/s"),
            TimeRemainingColumn(),
        )
        started = time.monotonic()
        with Progress(*columns, console=err_console, transient=False) as progress:
            task = progress.add_task("ingesting", total=len(files), rate="-")
            outcomes = ingest_files(
                db.get_sessionmaker(),
                user_id=user,
                files=files,
                embedder=model,
                metadata=extra,
                batch_documents=batch_size,
                max_bytes=limit,
            )
            for outcome in outcomes:
                if outcome.error is not None:
                    totals["failed"] += 1
                    _failed(outcome.error, progress.console)
                totals["inserted"] += outcome.inserted
                totals["updated"] += outcome.updated
                totals["unchanged"] += outcome.unchanged
                elapsed = max(time.monotonic() - started, 1e-6)
                done = progress.tasks[0].completed + 1
                progress.update(task, advance=1, rate=f"{done / elapsed:.1f}")
        elapsed = time.monotonic() - started
        console.print(
            f"{_count(len(files), 'file')} in {elapsed:.1f} s: "
            f"{_count(totals['inserted'], 'document')} inserted, "
            f"{totals['updated']} updated, {totals['unchanged']} unchanged, "
            f"{_count(totals['failed'], 'file')} failed",
            highlight=False,
        )
        if skipped:
            hint = "" if verbose else " (--verbose lists them)"
            console.print(_skip_summary(skipped) + hint, highlight=False)
    if totals["failed"]:
        raise typer.Exit(1)


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="What to look for")],
    user: Annotated[int, typer.Option("--user", "-u", min=1, help="Whose documents")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many results")] = 10,
    mode: Annotated[str, typer.Option(help="hybrid, semantic or keyword")] = "hybrid",
    filter_json: Annotated[
        str | None,
        typer.Option("--filter", help='Metadata filter as JSON, e.g. \'{"lang": "en"}\''),
    ] = None,
) -> None:
    """Search a user's documents and print the best matches."""
    try:
        spec = parse_filter_json(filter_json) if filter_json is not None else None
        request = SearchRequest(query=query, k=k, mode=mode, filter=spec)
    except FilterError as exc:
        fail(f"invalid search: {exc}", code=2)
    except ValueError as exc:
        message = validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
        fail(f"invalid search: {message}", code=2)
    with database(get_db_config()):
        with db.get_read_sessionmaker()() as session:
            response = search_service.search(
                session,
                user_id=user,
                request=request,
                embedder=for_queries(embedder()),
            )
    if not response.results:
        console.print("no results")
        return
    table = Table(show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("document")
    table.add_column("text", overflow="fold")
    for i, hit in enumerate(response.results, 1):
        name = hit.external_id or f"id {hit.document_id}"
        snippet = " ".join(hit.text.split())
        snippet = snippet if len(snippet) <= 160 else snippet[:157] + "..."
        table.add_row(str(i), f"{hit.score:.4f}", f"{name} #{hit.chunk_index}", snippet)
    console.print(table)


@app.command("create-user")
def create_user(
    name: Annotated[str, typer.Argument(help="Display name (1-50 characters)")],
) -> None:
    """Create a user and print its id (what `ingest` and `search` take as --user)."""
    try:
        data = UserCreate(name=name)
    except ValidationError as exc:
        fail(f"invalid name: {validation_message(exc)}", code=2)
    with database(get_db_config(), check_embedder=False):
        with db.get_sessionmaker().begin() as session:
            user = users_service.create_user(session, data=data)
        console.print(f"created user {user.id} ({user.name})", highlight=False)


@contextmanager
def _session_with_progress(
    label: str,
) -> Iterator[tuple[Session, Callable[[int, int], None]]]:
    """One transaction for a long rewrite, and a progress bar it reports (done, total) to."""
    with (
        Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
        ) as bar,
        db.get_sessionmaker().begin() as session,
    ):
        task = bar.add_task(label, total=None)
        yield session, lambda n, total: bar.update(task, completed=n, total=total)


@app.command()
def reembed(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Chunks per batch")] = 256,
) -> None:
    """Re-embed every stored chunk with the configured model (after changing models)."""
    with database(get_db_config(), check_embedder=False):
        model = embedder()
        started = time.monotonic()
        with _session_with_progress("re-embedding") as (session, progress):
            done = index_service.reembed(session, model, batch_size=batch_size, progress=progress)
        console.print(
            f"re-embedded {done} chunks with {model.name} in {time.monotonic() - started:.1f} s",
            highlight=False,
        )


@app.command()
def reanalyze(
    language: Annotated[
        list[str] | None,
        typer.Option(help="Only documents in this language (repeatable); default: all"),
    ] = None,
) -> None:
    """Re-make the keyword analysis of stored chunks (after an upgrade changed a language's)."""
    try:
        languages = sorted({parse_language(code) for code in language}) if language else None
    except UnknownLanguage as exc:
        fail(str(exc))
    with database(get_db_config(), check_embedder=False):
        started = time.monotonic()
        with _session_with_progress("re-analysing") as (session, progress):
            done = reanalyze_service.reanalyze(session, languages=languages, progress=progress)
        console.print(
            f"re-analysed {_count(done, 'chunk')} in {time.monotonic() - started:.1f} s",
            highlight=False,
        )


def main() -> None:
    """Console-script entry point: a `PgsearchError` is a one-line message, not a traceback."""
    try:
        app()
    except PgsearchError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        raise SystemExit(2 if isinstance(exc, InvalidInput) else 1) from None


if __name__ == "__main__":
    main()
