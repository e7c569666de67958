"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks (initdb + pg_ctl).

The server runs as the ``postgres`` system user when we are root, because PostgreSQL refuses to
run as root; it listens on loopback only, with trust authentication, in a temporary folder.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_bin(name: str) -> Path:
    found = shutil.which(name)
    if found:
        return Path(found)
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise PostgresUnavailable(f"{name} not found: install the Debian package 'postgresql'")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _start(pg_ctl: Path, data: Path, root: Path, attempts: int = 5) -> int:
    """Start the server on a free port and return it. A port found free may be taken before
    the server binds it (test workers in parallel start servers at the same moment): then
    another port is tried."""

    def start(port: int) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        command = [str(pg_ctl), "-D", str(data), "-o", options, "-l", str(root / "log")]
        subprocess.run(
            _as_server_user([*command, "-w", "-t", "60", "start"]),
            check=True,
            capture_output=True,
        )

    for _ in range(attempts - 1):
        port = _free_port()
        try:
            start(port)
        except subprocess.CalledProcessError:
            log = (root / "log").read_text() if (root / "log").exists() else ""
            if "already in use" not in log:
                raise
        else:
            return port
    port = _free_port()
    start(port)
    return port


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server, yield a SQLAlchemy URL to its ``postgres`` database, stop and delete it."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="xinyong-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        root.chmod(0o700)
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(initdb),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        port = _start(pg_ctl, data, root)
    except subprocess.CalledProcessError as error:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"{error}: {error.stderr!r} {log}") from None
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        _delete_later(root)


def _delete_later(root: Path) -> None:
    """Delete ``root`` in a process of its own, not waited for: a test run's server holds
    hundreds of databases, whose files took the test process seconds to delete at its end
    (the last thing a run waits for)."""
    os.spawnvp(os.P_NOWAIT, "rm", ["rm", "-rf", "--", str(root)])


def create_database(admin_url: str, name: str, *, template: str = "template1") -> str:
    """Create database ``name`` on the server of ``admin_url`` (a copy of ``template``) and
    return its URL."""
    import psycopg

    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


_MIGRATED = "xinyong_migrated"


@cache
def _migrated_template(admin_url: str) -> str:
    from xinyong.store.db import migrate

    migrate(create_database(admin_url, _MIGRATED))
    return _MIGRATED


def migrated_database(admin_url: str, name: str) -> str:
    """A new database ``name`` at the newest schema: a copy of a database migrated once per
    server (``CREATE DATABASE ... TEMPLATE`` copies files; migrating runs every migration)."""
    return create_database(admin_url, name, template=_migrated_template(admin_url))
