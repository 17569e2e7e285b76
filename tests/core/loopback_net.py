"""Loopback network pieces for the HTTP-client tests: a forward/CONNECT proxy, a TLS
terminator in front of the emulator (optionally asking for a client certificate), and a
throwaway certificate authority made with the ``openssl`` command at test time."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["Certificates", "Proxy", "Redirector", "TLSFront", "make_certificates"]


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    for sock in (source, target):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _splice(a: socket.socket, b: socket.socket) -> None:
    threading.Thread(target=_pump, args=(a, b), daemon=True).start()
    threading.Thread(target=_pump, args=(b, a), daemon=True).start()


class _Server:
    """Accepts on 127.0.0.1 on a background thread; ``handle`` serves one connection."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._safe_handle, args=(conn,), daemon=True).start()

    def _safe_handle(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except (OSError, ValueError):
            conn.close()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class Proxy(_Server):
    """An HTTP proxy: ``CONNECT host:port`` tunnels, absolute-form requests are forwarded.

    ``seen`` holds each request line it received, e.g. ``CONNECT 127.0.0.1:4430 HTTP/1.1``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.url = f"http://127.0.0.1:{self.port}"

    def handle(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(65536)
            if not chunk:
                raise ValueError("closed before the request head")
            head += chunk
        line, _, rest = head.partition(b"\r\n")
        method, target, version = line.decode("latin-1").split(" ", 2)
        self.seen.append(f"{method} {target} {version}")
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest.split(b"\r\n\r\n", 1)[1]:
                raise ValueError("data before the tunnel was up")
        else:
            url = urlsplit(target)
            upstream = socket.create_connection((url.hostname or "", url.port or 80))
            origin = f"{method} {url.path or '/'} {version}".encode("latin-1")
            upstream.sendall(origin + b"\r\n" + rest)
        _splice(conn, upstream)


class TLSFront(_Server):
    """TLS on loopback in front of a plain HTTP server; ``client_ca`` requires mTLS."""

    def __init__(self, upstream_port: int, certs: Certificates, *, client_ca: bool) -> None:
        super().__init__()
        self.url = f"https://127.0.0.1:{self.port}"
        self._upstream_port = upstream_port
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certs.server_cert, certs.server_key)
        if client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(certs.ca_cert)
        self._context = context

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        tls = self._context.wrap_socket(conn, server_side=True)
        tls.settimeout(None)
        upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
        _splice(tls, upstream)


@dataclass
class Certificates:
    """Paths of a throwaway CA, a server certificate for 127.0.0.1 and a client one."""

    directory: Path
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def ca_cert(self) -> str:
        return str(self.directory / "ca.pem")

    @property
    def server_cert(self) -> str:
        return str(self.directory / "server.pem")

    @property
    def server_key(self) -> str:
        return str(self.directory / "server.key")

    @property
    def client_cert(self) -> str:
        return str(self.directory / "client.pem")

    @property
    def client_key(self) -> str:
        return str(self.directory / "client.key")


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


def make_certificates(directory: Path) -> Certificates:
    """A CA, and a server (SAN IP 127.0.0.1) and a client certificate it signed."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        directory, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=gw test CA",
    )  # fmt: skip
    for name, extension in (
        ("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (directory / f"{name}.ext").write_text(extension + "\n")
        _openssl(
            directory, "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN=gw test {name}",
        )  # fmt: skip
        _openssl(
            directory, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            "-extfile", f"{name}.ext",
        )  # fmt: skip
    return Certificates(directory)


class Redirector(_Server):
    """Answers every request with a 307 to ``target``; counts the requests it got."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"
        self.target = target
        self.requests = 0

    def handle(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            self.requests += 1
            conn.sendall(
                f"HTTP/1.1 307 Temporary Redirect\r\nlocation: {self.target}\r\n"
                "content-length: 0\r\nconnection: close\r\n\r\n".encode()
            )
