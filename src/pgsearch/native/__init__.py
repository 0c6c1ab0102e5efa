"""pgsearch's C extension, `pgsearch_bm25`: the first stage of BM25 top-k search in C.

PostgreSQL loads extensions from its own folders, so the extension is built from the source
shipped here, with the server's `pg_config` and a C compiler, and installed beside the server's
own extensions: automatically for the embedded server, by `pgsearch build-extension` for
another. Without it (no compiler, no write access, a managed server), keyword search runs its
SQL form, with the same results.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from pgsearch.errors import NativeBuildError

logger = logging.getLogger(__name__)

EXTENSION = "pgsearch_bm25"
# The version whose functions the search statements call (the control file's default_version).
VERSION = "1.2"
_HERE = Path(__file__).parent
_SOURCE = _HERE / f"{EXTENSION}.c"
# Files of the extension's folder: its control file, the install script of its first version
# and the update scripts after it (CREATE EXTENSION runs them in turn up to default_version).
_SHARED = (
    _HERE / f"{EXTENSION}.control",
    _HERE / f"{EXTENSION}--1.0.sql",
    _HERE / f"{EXTENSION}--1.0--1.1.sql",
    _HERE / f"{EXTENSION}--1.1--1.2.sql",
)
# PostgreSQL's own build flags that change the meaning of C code (not its warnings, which
# depend on the compiler it was built with).
_CFLAGS = (
    "-O2",
    "-fPIC",
    "-shared",
    "-fno-strict-aliasing",
    "-fwrapv",
    "-fexcess-precision=standard",
)

# A compiler that hangs must not hold the embedded server's start for ever.
_BUILD_TIMEOUT_S = 300


def _digest() -> str:
    h = hashlib.sha256(" ".join(_CFLAGS).encode())
    for path in (_SOURCE, *_SHARED):
        try:
            h.update(path.read_bytes())
        except OSError as exc:  # an install that lost the extension's files
            raise NativeBuildError(f"cannot read the extension's source: {exc}") from exc
    return h.hexdigest()


def _dirs(pg_config: Path) -> tuple[Path, Path, Path]:
    """The server's library, extension and server-header folders."""
    try:
        out = subprocess.run(
            [str(pg_config), "--pkglibdir", "--sharedir", "--includedir-server"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise NativeBuildError(f"cannot run {pg_config}: {exc}") from exc
    return Path(out[0]), Path(out[1]) / "extension", Path(out[2])


def _put(data: bytes, target: Path) -> None:
    """Write `target` whole or not at all: a server loading it meanwhile sees the old file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o755 if target.suffix == ".so" else 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build(pg_config: Path) -> Path:
    """Build and install the extension for the server of `pg_config`, unless this very source
    is installed there already. Returns the installed library; raises `NativeBuildError`."""
    libdir, extdir, includedir = _dirs(pg_config)
    library = libdir / f"{EXTENSION}.so"
    stamp = extdir / f"{EXTENSION}.sha256"
    digest = _digest()
    try:
        installed = [library, *(extdir / path.name for path in _SHARED)]
        if all(path.exists() for path in installed) and stamp.read_text() == digest:
            return library
    except OSError:
        pass
    # CC is a command, as make reads it ("ccache gcc").
    found = shutil.which("cc") or shutil.which("gcc")
    compiler = shlex.split(os.environ.get("CC", "")) or ([found] if found else [])
    if not compiler:
        raise NativeBuildError("no C compiler found (install gcc, or set CC)")
    if not (includedir / "postgres.h").exists():
        raise NativeBuildError(f"no PostgreSQL server headers in {includedir}")
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(tmp) / library.name
        command = " ".join(compiler)
        try:
            result = subprocess.run(
                [*compiler, *_CFLAGS, f"-I{includedir}", "-o", str(built), str(_SOURCE)],
                capture_output=True,
                text=True,
                timeout=_BUILD_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NativeBuildError(f"cannot run {command}: {exc}") from exc
        if result.returncode != 0:
            raise NativeBuildError(f"{command} failed: {result.stderr.strip()[-2000:]}")
        try:
            _put(built.read_bytes(), library)
            for path in _SHARED:
                _put(path.read_bytes(), extdir / path.name)
            _put(digest.encode(), stamp)  # last: a partial install is redone next time
        except OSError as exc:
            raise NativeBuildError(f"cannot install into {libdir} and {extdir}: {exc}") from exc
    logger.info("built %s into %s", EXTENSION, libdir)
    return library


def try_build(pg_config: Path) -> bool:
    """`build`, or a warning that keyword search will run its SQL form."""
    try:
        build(pg_config)
    except NativeBuildError as exc:
        logger.warning("%s not built (%s): keyword search runs its SQL form", EXTENSION, exc)
        return False
    return True
