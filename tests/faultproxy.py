"""A TCP proxy on 127.0.0.1 that can cut, stall, slow or reset the link to a server."""

from __future__ import annotations

import select
import socket
import struct
import threading
import time

FORWARD = "forward"
BLACKHOLE = "blackhole"  # keep connections open, move no bytes either way
SLOW = "slow"  # move bytes in small pieces with a delay between them
SILENT = "silent"  # accept new connections but never answer them


class FaultProxy:
    """Forwards 127.0.0.1:<port> to an upstream loopback address until told otherwise."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode = FORWARD
        self.slow_delay = 0.05
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def dsn_params(self) -> str:
        return f"host=127.0.0.1 port={self.port}"

    # -- faults ------------------------------------------------------------------

    def reset_all(self) -> None:
        """Abort every open connection with a TCP reset (both directions)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self.reset_all()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)

    # -- plumbing ------------------------------------------------------------------

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            if self.mode == SILENT:
                with self._lock:
                    self._pairs.append((client, client))
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            thread = threading.Thread(target=self._pump, args=(client, server), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        try:
            while not self._stop.is_set():
                if self.mode in (BLACKHOLE, SILENT):
                    time.sleep(0.05)
                    continue
                readable, _, _ = select.select(list(peers), [], [], 0.05)
                for sock in readable:
                    size = 64 if self.mode == SLOW else 65536
                    data = sock.recv(size)
                    if not data:
                        return
                    if self.mode == SLOW:
                        time.sleep(self.slow_delay)
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, server):
                try:
                    sock.close()
                except OSError:
                    pass
