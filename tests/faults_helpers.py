"""Network faults for the fault tests: a port where nothing listens, a listener that never
answers, and a TCP relay in front of a real server that can be cut and restored."""

from __future__ import annotations

import contextlib
import select
import socket
import threading


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class BlackHole:
    """A listener whose kernel completes every connection while nobody ever reads or answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class TcpProxy:
    """A TCP relay in front of a real server (Redis, PostgreSQL) that can be cut (connections
    dropped and refused while down, as while it restarts) and restored, without touching the
    shared server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = threading.Event()
        self.up.set()
        self.stopping = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up.is_set():
                conn.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((conn, upstream))
            threading.Thread(target=self._relay, args=(conn, upstream), daemon=True).start()

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while self.up.is_set():
                readable, _, _ = select.select([a, b], [], [], 0.1)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def cut(self) -> None:
        self.up.clear()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.stopping.set()
        self.listener.close()
        self.thread.join(2)
