"""A TLS endpoint on 127.0.0.1 for the tests: answers PostgreSQL's SSLRequest and
completes the TLS handshake with a throwaway self-signed certificate, then hangs up."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path

SSL_REQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"


class TlsServer:
    def __init__(self, directory: Path) -> None:
        self.cert = directory / "server.crt"
        self.key = directory / "server.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
             "-keyout", str(self.key), "-out", str(self.cert)],
            check=True, capture_output=True,
        )
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert, self.key)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.handshakes = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    first = conn.recv(8, socket.MSG_PEEK)
                    if first == SSL_REQUEST:
                        conn.recv(8)
                        conn.sendall(b"S")
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        self.handshakes += 1
                        tls.recv(1024)
                except (OSError, ssl.SSLError):
                    continue

    def close(self) -> None:
        self.listener.close()
