"""Real servers that the storage fault tests own, so stopping one disturbs no other test (a
PostgreSQL cluster and a nanio S3-API server, each started and stopped by the test itself), a
TCP proxy that loses PostgreSQL's replies after a commit, and a disk that turns read-only."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures.postgres import (
    PostgresServer,
    PostgresUnavailableError,
    find_bindir,
    server_from_binaries,
)
from tests.fixtures.s3 import S3Server, _free_port, _stop, _wait_until_up


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of our own (own data directory and port), that can be stopped and
    started again; removed at the end."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            "restarting PostgreSQL needs a cluster this test starts itself from the server "
            "binaries (initdb, pg_ctl), and none are installed: apt-get install -y postgresql"
        )
    try:
        server = server_from_binaries(bindir)
    except PostgresUnavailableError as exc:
        pytest.fail(f"cannot start a PostgreSQL cluster of our own: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------------------------
# A connection that dies after the server committed, before the client hears it


def _messages(buffer: bytearray, *, typed: bool) -> Iterator[tuple[bytes, bytes]]:
    """Complete PostgreSQL protocol messages at the front of `buffer` (consumed from it), as
    (type, payload). Untyped: the client's startup message, which has no type byte."""
    while True:
        header = 5 if typed else 4
        if len(buffer) < header:
            return
        kind = bytes(buffer[:1]) if typed else b""
        length = int.from_bytes(buffer[header - 4 : header], "big")
        end = header - 4 + length
        if len(buffer) < end:
            return
        payload = bytes(buffer[header:end])
        del buffer[:end]
        yield kind, payload
        typed = True


@dataclass(eq=False)
class _Session:
    client: socket.socket
    server: socket.socket
    started: bool = False  # the startup message was seen (every later message is typed)
    statements: dict[bytes, bool] = field(default_factory=dict)  # name -> inserts events
    inserting: bool = False  # the statements sent since the last Sync insert events
    withhold: bool = False  # swallow the server's reply, cut the connection at ReadyForQuery
    client_buffer: bytearray = field(default_factory=bytearray)
    server_buffer: bytearray = field(default_factory=bytearray)


class LostCommitReplies:
    """A TCP proxy in front of PostgreSQL that lets chosen event inserts commit and then cuts
    the connection before the client receives the reply: what a client sees when the network or
    the server's host dies right after a commit. The client cannot tell whether its statement
    was applied.

    It reads the wire protocol (without TLS: connect with `sslmode=disable`): a statement whose
    text holds `INSERT INTO event_logs` (sent as a Parse, executed by name or unnamed) counts as
    an event insert once its Sync is sent; for the counted inserts `drop(n)` chooses, the
    server's reply is swallowed up to its ReadyForQuery (sent only after the commit) and both
    sides are closed."""

    def __init__(self, upstream: tuple[str, int], drop: Callable[[int], bool]) -> None:
        self.upstream = upstream
        self.drop = drop
        self.inserts = 0
        self.cut = 0  # replies swallowed (commits the client never heard of)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._sessions: list[_Session] = []
        self._spawn(self._accept)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            session = _Session(client, server)
            with self._lock:
                self._sessions.append(session)
            self._spawn(self._pump_from_client, session)
            self._spawn(self._pump_from_server, session)

    def _pump_from_client(self, session: _Session) -> None:
        while (data := _receive(session.client)) is not None:
            session.client_buffer += data
            for kind, payload in _messages(session.client_buffer, typed=session.started):
                session.started = True
                self._note_client_message(session, kind, payload)
            if not _send(session.server, data):  # forwarded only after the flags are set
                break
        _close(session)

    def _note_client_message(self, session: _Session, kind: bytes, payload: bytes) -> None:
        if kind == b"P":  # Parse: statement name, query text, ...
            name, _, rest = payload.partition(b"\0")
            session.statements[name] = b"INSERT INTO event_logs" in rest.partition(b"\0")[0]
        elif kind == b"B":  # Bind: portal name, statement name, ...
            statement = payload.split(b"\0", 2)[1]
            session.inserting = session.inserting or session.statements.get(statement, False)
        elif kind == b"Q":  # a simple query
            session.inserting = session.inserting or b"INSERT INTO event_logs" in payload
        if kind in (b"S", b"Q") and session.inserting:
            session.inserting = False
            with self._lock:
                self.inserts += 1
                session.withhold = session.withhold or self.drop(self.inserts)

    def _pump_from_server(self, session: _Session) -> None:
        while (data := _receive(session.server)) is not None:
            if not session.withhold:
                if not _send(session.client, data):
                    break
                continue
            session.server_buffer += data
            if any(kind == b"Z" for kind, _ in _messages(session.server_buffer, typed=True)):
                with self._lock:
                    self.cut += 1
                break  # committed; the client never hears of it
        _close(session)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self._listener.close()
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            _close(session)
        for thread in self._threads:
            thread.join(timeout=10)


def _receive(sock: socket.socket) -> bytes | None:
    try:
        data = sock.recv(65536)
    except OSError:
        return None
    return data or None


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(session: _Session) -> None:
    for sock in (session.client, session.server):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()


# --------------------------------------------------------------------------------------------
# An S3-API server of our own


@dataclass(eq=False)
class OwnS3Server:
    """A nanio process that a test may stop and start again (same port, data and keys), which
    the session's `s3_server` must not do: other tests use that one."""

    root: Path
    port: int = field(default_factory=_free_port)
    access_key: str = field(default_factory=lambda: f"kubedag-fault-{secrets.token_hex(6)}")
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "nanio.log"

    def as_s3_server(self) -> S3Server:
        return S3Server(self.endpoint_url, self.access_key, self.secret_key)

    def start(self) -> None:
        executable = Path(sys.executable).parent / "nanio"
        if not executable.exists():
            pytest.skip(f"nanio is not installed next to {sys.executable} (pip install nanio)")
        env = {**os.environ, "NANIO_ACCESS_KEY": self.access_key}
        env["NANIO_SECRET_KEY"] = self.secret_key
        command = [str(executable), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--data-dir", str(self.root / "data"), "--no-access-log"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        _wait_until_up(self.process, self.port, self.log_path)

    def stop(self) -> None:
        """Stop the server and wait until its port refuses connections."""
        if self.process is not None:
            _stop(self.process)
            self.process = None


@contextlib.contextmanager
def own_s3_server(root: Path) -> Iterator[OwnS3Server]:
    root.mkdir(parents=True, exist_ok=True)
    server = OwnS3Server(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------
# A disk that the kernel turns read-only


@dataclass(eq=False)
class FailingDisk:
    """A small ext4 file system in an image file, loop-mounted with `errors=remount-ro`.

    `fail()` reports a file-system error to the kernel (`/sys/fs/ext4/<dev>/trigger_fs_error`),
    which then does what it does when a real disk fails: it makes the file system read-only at
    once, open files included (`chmod` would not stop root, and `mount -o remount,ro` refuses
    while files are open for writing). `repair()` unmounts it, lets `e2fsck` fix it as after a
    reboot, and mounts it again, so what reached the disk can be checked."""

    image: Path
    path: Path
    device: str = ""

    def mount(self) -> None:
        _run_or_skip("mount", "-o", "loop,errors=remount-ro", str(self.image), str(self.path))
        found = subprocess.run(
            ["findmnt", "-n", "-o", "SOURCE", str(self.path)], capture_output=True, text=True
        )
        self.device = Path(found.stdout.strip()).name

    @property
    def trigger(self) -> Path:
        return Path("/sys/fs/ext4", self.device, "trigger_fs_error")

    def fail(self) -> None:
        self.trigger.write_text("kubedag fault test: disk failed\n")

    def repair(self) -> None:
        self.unmount()
        checked = subprocess.run(
            ["e2fsck", "-f", "-y", str(self.image)], capture_output=True, text=True
        )
        assert checked.returncode in (0, 1, 2), checked.stdout + checked.stderr  # 1, 2: fixed
        self.mount()

    def unmount(self) -> None:
        done = subprocess.run(["umount", str(self.path)], capture_output=True, text=True)
        if done.returncode != 0:  # still busy: detach now, release when the last user exits
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)
        self.device = ""


def _run_or_skip(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        pytest.skip(
            f"a read-only disk needs `{' '.join(command)}` to work, and it failed "
            f"(exit {done.returncode}): {(done.stderr or done.stdout).strip()}"
        )


@contextlib.contextmanager
def failing_disk(root: Path, size_mb: int = 64) -> Iterator[FailingDisk]:
    """A file system of our own under `root/disk` that a test can make fail (see
    `FailingDisk`); skips, naming what is missing, where that cannot be done."""
    if os.geteuid() != 0:
        pytest.skip("a read-only disk needs root: mounting a loop device is privileged")
    for tool in ("mkfs.ext4", "mount", "umount", "findmnt", "e2fsck"):
        if shutil.which(tool) is None:
            pytest.skip(f"a read-only disk needs {tool} (apt-get install -y e2fsprogs mount)")
    image, path = root / "disk.img", root / "disk"
    path.mkdir(parents=True)
    with open(image, "wb") as file:
        file.truncate(size_mb << 20)
    _run_or_skip("mkfs.ext4", "-q", "-F", str(image))
    disk = FailingDisk(image, path)
    disk.mount()
    try:
        if not disk.trigger.exists():
            pytest.skip(
                f"this kernel has no {disk.trigger} (ext4 offers it from Linux 5.x): no way "
                "to make the file system fail on purpose"
            )
        yield disk
    finally:
        disk.unmount()
