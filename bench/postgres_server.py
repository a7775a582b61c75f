"""A throw-away PostgreSQL server for the storage benchmarks, and a fresh database per process.

Why a server of our own: a benchmark must not write into someone's database, and every workload
process must start from an empty database, so that one process's rows neither slow down nor warm
up the next. `bench/run.py` starts one server the first time a PostgreSQL workload needs it and
stops it at the end (in a `finally`); `KUBEDAG_BENCH_PG_URL` names an existing server instead,
where the role may CREATE DATABASE.

The server keeps PostgreSQL's normal durability (fsync, synchronous_commit and full_page_writes
on) and its data directory is on disk (the system temporary directory), not on tmpfs: the
reference's figures were measured that way, and commits that never reach the disk would flatter
whichever system commits most. Only initdb itself skips its final sync (`--no-sync`).

As root, initdb and pg_ctl refuse to run; they then run as the `postgres` account, which owns the
temporary directory. Databases are created and dropped with psycopg (kubedag's PostgreSQL extra).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

URL_ENV = "KUBEDAG_BENCH_PG_URL"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
PORT_ATTEMPTS = 3


class PostgresUnavailable(Exception):
    """No server can be had here; the message is the reason shown instead of a figure."""


class PostgresError(Exception):
    """The server refused an administrative statement (CREATE or DROP DATABASE, ...)."""


@dataclass(frozen=True)
class Account:
    """The system account the server binaries run as (they refuse to run as root)."""

    name: str
    uid: int
    gid: int


def find_bindir() -> Path | None:
    """The directory with initdb and pg_ctl of the newest installed PostgreSQL, if any."""
    candidates = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda bindir: [int(n) for n in re.findall(r"\d+", bindir.parent.name)],
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for bindir in candidates:
        if all(os.access(bindir / exe, os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def server_account() -> Account | None:
    """None when this user may run the binaries; as root, the `postgres` account."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, where initdb refuses to run, and there is no 'postgres' account"
        ) from None
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _enterable_by_all(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


def make_work_dir(account: Account | None) -> Path:
    """A private directory on disk (not /dev/shm), owned by whoever runs the server."""
    for base in (Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")):
        # As root, TMPDIR may sit under root's home, which the postgres account cannot enter.
        if base.is_dir() and (account is None or _enterable_by_all(base)):
            root = Path(tempfile.mkdtemp(prefix="kubedag-bench-pg-", dir=base))
            if account is not None:
                os.chown(root, account.uid, account.gid)
            return root
    raise PostgresUnavailable("no temporary directory the server account can use")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(cannot read {path}: {error})"


@dataclass(eq=False)
class LocalServer:
    """A cluster in `root` (data directory, log and Unix socket inside), on 127.0.0.1:`port`."""

    bindir: Path
    root: Path
    account: Account | None
    port: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """One of the server binaries, as the server's account when we are root."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        as_account: dict[str, Any] = {}
        if self.account is not None:
            env.update(HOME=str(self.root), USER=self.account.name, LOGNAME=self.account.name)
            as_account = {"user": self.account.uid, "group": self.account.gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **as_account,
        )

    def init(self) -> None:
        result = self.run(
            "initdb",
            *("-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--no-sync"),
            *("--encoding=UTF8", "--locale=C"),
            timeout=180,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        """pg_ctl start with default durability settings, waiting until it accepts connections."""
        options = shlex.join(["-h", "127.0.0.1", "-p", str(self.port), "-k", str(self.root)])
        result = self.run(
            "pg_ctl",
            *("-D", str(self.data_dir), "-l", str(self.log_file), "-o", options),
            *("-w", "-t", str(START_TIMEOUT_S), "start"),
            timeout=START_TIMEOUT_S + 10,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start on 127.0.0.1:{self.port} failed: {result.stdout}{result.stderr}\n"
                f"--- {self.log_file} ---\n{_tail(self.log_file)}"
            )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def destroy(self) -> None:
        """Stop the server (fast, then by its pid if need be) and delete its directory."""
        with contextlib.suppress(Exception):
            self.run(
                "pg_ctl",
                *("-D", str(self.data_dir), "-m", "fast", "-w", "-t", str(STOP_TIMEOUT_S)),
                "stop",
                timeout=STOP_TIMEOUT_S + 10,
            )
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        shutil.rmtree(self.root, ignore_errors=True)


def start_local_server() -> LocalServer:
    """initdb and start a cluster on a free port; PostgresUnavailable if there are no binaries."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable("no PostgreSQL (no initdb/pg_ctl in /usr/lib/postgresql/*/bin)")
    account = server_account()
    server = LocalServer(bindir=bindir, root=make_work_dir(account), account=account)
    try:
        server.init()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            server.port = free_port()
            try:
                server.start()
                return server
            except RuntimeError:
                # Someone may have taken the port between free_port() and the server's bind.
                if attempt == PORT_ATTEMPTS or "could not bind" not in _tail(server.log_file):
                    raise
    except BaseException:
        server.destroy()
        raise
    raise AssertionError("unreachable")


def libpq_url(url: str) -> str:
    """`postgresql://...` for psycopg and both systems, from a libpq or SQLAlchemy URL."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not (scheme in ("postgres", "postgresql") or scheme.startswith("postgresql+")):
        raise PostgresUnavailable(f"{URL_ENV} is not a postgresql:// URL")
    return f"postgresql://{rest}"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class BenchPostgres:
    """The benchmark's server: started on first use, a fresh database per workload process.

    `start()` raises PostgresUnavailable, and keeps raising it, when no server can be had;
    `failure` then says why if a server exists but did not start (an error, not a skip)."""

    def __init__(self) -> None:
        self._admin_url: str | None = None
        self._local: LocalServer | None = None
        self._unavailable: PostgresUnavailable | None = None
        self.description = ""
        self.failure: str | None = None

    @property
    def started(self) -> bool:
        return self._admin_url is not None

    def start(self) -> str:
        """The admin URL of the server, starting one first if need be."""
        if self._unavailable is not None:
            raise self._unavailable
        if self._admin_url is not None:
            return self._admin_url
        try:
            self._admin_url = self._connect()
        except PostgresUnavailable as unavailable:
            self._unavailable = unavailable
            raise
        except Exception as error:  # a server that should be there is not usable
            self.close()
            given = os.environ.get(URL_ENV, "").strip()
            self.failure = f"{URL_ENV}: {error}" if given else f"did not start: {error}"
            self._unavailable = PostgresUnavailable(self.failure)
            raise self._unavailable from error
        return self._admin_url

    def _connect(self) -> str:
        try:
            import psycopg  # noqa: F401  (kubedag's PostgreSQL extra)
        except ImportError:
            raise PostgresUnavailable("psycopg is not installed") from None
        given = os.environ.get(URL_ENV, "").strip()
        if given:
            url = libpq_url(given)
            self.description = f"{URL_ENV} ({urlsplit(url).hostname}:{urlsplit(url).port})"
        else:
            started = time.perf_counter()
            self._local = start_local_server()
            url = self._local.admin_url
            self.description = (
                f"throw-away server from {self._local.bindir} on 127.0.0.1:{self._local.port}, "
                f"data in {self._local.root}, default durability, started in "
                f"{time.perf_counter() - started:.1f} s"
            )
        self._execute(url, "SELECT 1")
        return url

    @staticmethod
    def _execute(admin_url: str, statement: str, database: str | None = None) -> None:
        """One statement on the admin database, outside a transaction (CREATE DATABASE needs
        that); `{}` in `statement` becomes the quoted `database` name."""
        import psycopg
        from psycopg import sql

        query = sql.SQL(statement)
        if database is not None:
            query = query.format(sql.Identifier(database))
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(query)
        except psycopg.Error as error:
            shown = statement.replace("{}", database or "")
            raise PostgresError(f"{shown}: {error}") from None

    @contextlib.contextmanager
    def database(self, label: str) -> Iterator[str]:
        """A new empty database for one process; yields its URL, drops it afterwards."""
        admin_url = self.start()
        slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40]
        name = f"bench_{slug}_{uuid.uuid4().hex[:8]}"
        self._execute(admin_url, "CREATE DATABASE {}", name)
        try:
            yield with_database(admin_url, name)
        finally:
            self._execute(admin_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    def close(self) -> None:
        if self._local is not None:
            local, self._local = self._local, None
            local.destroy()

    def __enter__(self) -> BenchPostgres:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
