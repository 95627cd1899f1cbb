"""Faults a test can force on a server it owns: freezing processes, and a TCP proxy that
forwards a chosen statement and drops the server's answer to it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


@contextlib.contextmanager
def frozen(pids: list[int]) -> Iterator[None]:
    """SIGSTOP the processes (by pid) for the block; SIGCONT them whatever happens. A process
    that has exited since it was listed (a backend of a pool just closed) is passed over: it
    cannot answer anyway, and failing there would leave the others stopped for good."""
    try:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def server_processes(pgdata: Path) -> list[int]:
    """The postmaster and every process it started: the whole server."""
    root = psutil.Process(postmaster_pid(pgdata))
    return [root.pid] + [child.pid for child in root.children(recursive=True)]


def _upstream(url: str) -> socket.socket:
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "/tmp")  # noqa: S108 - libpq's own default
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(f"{host}/.s.PGSQL.{port}")
    else:
        sock = socket.create_connection((host, port))
    return sock


class DroppingProxy:
    """Listens on 127.0.0.1 and forwards to the server of `url`. Once a client sends a statement
    whose text starts with `trigger` (simple or extended protocol, prepared or not), it forwards
    it, then closes the client's side without forwarding the answer: the server does the work,
    the client never hears of it. Triggers once per `arm()`.

    `fired` is set when the client's side is closed; `answered` once the server has answered
    the dropped batch (its ReadyForQuery), so the work it was sent is over, committed or not.
    A test that reads what the server stored waits for `answered` first: the client hears of
    the loss at once, the server may still be running the statement."""

    def __init__(self, url: str, trigger: str) -> None:
        self.url = url
        self.trigger = trigger.encode()
        self.armed = threading.Event()
        self.fired = threading.Event()
        self.answered = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def client_url(self) -> str:
        params = conninfo_to_dict(self.url)
        params.update(host="127.0.0.1", port=str(self.port), sslmode="disable")
        params["gssencmode"] = "disable"
        return make_conninfo("", **params)

    def arm(self) -> None:
        self.fired.clear()
        self.answered.clear()
        self.armed.set()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = _upstream(self.url)
            dropping = threading.Event()
            threading.Thread(
                target=self._answer, args=(server, client, dropping), daemon=True
            ).start()
            threading.Thread(
                target=self._inspect, args=(client, server, dropping), daemon=True
            ).start()

    def _answer(
        self, server: socket.socket, client: socket.socket, dropping: threading.Event
    ) -> None:
        """Server to client, message by message (with SSL and GSS off, every one is typed).
        Once `dropping` is set, answers are discarded up to the ReadyForQuery that ends the
        dropped batch; then the server's side is closed too."""
        try:
            while True:
                kind = _read(server, 1)
                size = _read(server, 4)
                body = _read(server, struct.unpack("!I", size)[0] - 4)
                if not dropping.is_set():
                    client.sendall(kind + size + body)
                elif kind == b"Z":
                    self.answered.set()
                    break
        except (OSError, struct.error):
            pass
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.close()

    def _inspect(
        self, client: socket.socket, server: socket.socket, dropping: threading.Event
    ) -> None:
        """Client to server, message by message (after the untyped startup message)."""
        statements: dict[bytes, bytes] = {}
        pending = False  # the trigger was parsed or bound; its Sync ends the batch
        try:
            length = struct.unpack("!I", _read(client, 4))[0]
            server.sendall(struct.pack("!I", length) + _read(client, length - 4))
            while True:
                kind = _read(client, 1)
                size = _read(client, 4)
                body = _read(client, struct.unpack("!I", size)[0] - 4)
                if kind == b"P":  # remembered even unarmed: a prepared COMMIT is bound later
                    name, rest = body.split(b"\0", 1)
                    statements[name] = rest.split(b"\0", 1)[0].strip().upper()
                if self.armed.is_set():
                    if kind == b"Q" and body.strip().upper().startswith(self.trigger):
                        pending = True
                    elif kind == b"P":
                        pending = pending or (
                            name == b"" and statements[name].startswith(self.trigger)
                        )
                    elif kind == b"B":
                        statement = body.split(b"\0", 2)[1]
                        pending = pending or statements.get(statement, b"-").startswith(
                            self.trigger
                        )
                if pending and kind in (b"Q", b"S"):
                    dropping.set()  # before the server can answer
                    server.sendall(kind + size + body)
                    self.armed.clear()
                    self.fired.set()
                    client.close()  # the answer never reaches the client
                    return
                server.sendall(kind + size + body)
        except (OSError, struct.error, ValueError, IndexError):
            with contextlib.suppress(OSError):
                server.close()


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data
