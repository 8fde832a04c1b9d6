"""A minimal WebSocket client (RFC 6455) on the standard library, enough to talk to a Jupyter kernel.

The standard library has no WebSocket client, and the health check needs one exactly once (the kernel
channels of jupyter_server); this keeps the deployer free of a dependency for it. Supported: ``ws://`` and
``wss://`` (TLS with the default trust store), extra handshake headers (``Authorization``), text and binary
messages (fragmented or not), ping/pong and close. Not supported: extensions (no compression is offered, so a
server may not use any) and subprotocols.

    with connect("wss://hub.example.org/user/u/api/kernels/ID/channels", headers={...}, timeout=30) as ws:
        ws.send_text(json.dumps(message))
        text = ws.recv_text(timeout=10)
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import ssl
import struct
import urllib.parse
from collections.abc import Mapping

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WebSocketError(Exception):
    """The handshake was refused, or the connection broke or closed."""

    def __init__(self, message: str, status: int | None = None, body: str = ""):
        super().__init__(message)
        self.status = status
        self.body = body


class WebSocket:
    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._rfile = sock.makefile("rb")
        self.closed = False

    # -- sending ------------------------------------------------------------------------------
    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytearray([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack("!H", n)
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._sock.sendall(bytes(header) + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(OP_TEXT, text.encode("utf-8"))

    # -- receiving ----------------------------------------------------------------------------
    def _read(self, n: int) -> bytes:
        data = self._rfile.read(n)
        if data is None or len(data) < n:
            self.closed = True
            raise WebSocketError("the connection closed")
        return data

    def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read(2)
        fin, opcode = bool(first & 0x80), first & 0x0F
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        mask = self._read(4) if second & 0x80 else None
        payload = self._read(length) if length else b""
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return fin, opcode, payload

    def recv(self, *, timeout: float) -> tuple[int, bytes]:
        """The next message as ``(OP_TEXT | OP_BINARY, payload)``; answers pings; raises on close or timeout."""
        self._sock.settimeout(max(timeout, 0.01))
        parts: list[bytes] = []
        kind = None
        try:
            while True:
                fin, opcode, payload = self._read_frame()
                if opcode == OP_PING:
                    self._send_frame(OP_PONG, payload)
                    continue
                if opcode == OP_PONG:
                    continue
                if opcode == OP_CLOSE:
                    self.closed = True
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    reason = payload[2:].decode("utf-8", errors="replace")
                    detail = f": {reason}" if reason else ""
                    raise WebSocketError(f"the server closed the connection (code {code}{detail})")
                if opcode in (OP_TEXT, OP_BINARY):
                    kind, parts = opcode, [payload]
                elif opcode == OP_CONT and kind is not None:
                    parts.append(payload)
                else:
                    raise WebSocketError(f"unexpected frame opcode {opcode}")
                if fin:
                    return kind, b"".join(parts)
        except TimeoutError:
            raise TimeoutError("no message from the server in time") from None
        except OSError as exc:
            self.closed = True
            raise WebSocketError(f"the connection broke: {exc.strerror or exc}") from None

    def recv_text(self, *, timeout: float) -> str:
        """The next text message (binary messages are skipped)."""
        while True:
            kind, payload = self.recv(timeout=timeout)
            if kind == OP_TEXT:
                return payload.decode("utf-8", errors="replace")

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(OSError):
                self._send_frame(OP_CLOSE, struct.pack("!H", 1000))
            self.closed = True
        try:
            self._rfile.close()
        finally:
            self._sock.close()

    def __enter__(self) -> WebSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
) -> WebSocket:
    """Open a WebSocket to ``url`` (``ws://`` or ``wss://``); raises ``WebSocketError`` if refused."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a ws(s) URL: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    sock = socket.create_connection((parts.hostname, port), timeout=timeout)
    try:
        if secure:
            sock = (ssl_context or ssl.create_default_context()).wrap_socket(sock, server_hostname=parts.hostname)
        key = base64.b64encode(os.urandom(16)).decode()
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rsplit("@", 1)[-1]
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            "User-Agent: deployer-health-check",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        ws = WebSocket(sock)
        status_line = ws._rfile.readline(65536).decode("latin-1").strip()
        received: dict[str, str] = {}
        while True:
            line = ws._rfile.readline(65536).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            received[name.strip().lower()] = value.strip()
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            raise WebSocketError(f"not an HTTP answer: {status_line[:80]!r}") from None
        if status != 101:
            length = int(received.get("content-length", "0") or 0)
            body = ws._rfile.read(min(length, 65536)).decode("utf-8", errors="replace") if length else ""
            raise WebSocketError(f"the server refused the WebSocket (HTTP {status})", status, body)
        expected = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        if received.get("sec-websocket-accept") != expected:
            raise WebSocketError("the server's WebSocket handshake answer is invalid")
        return ws
    except BaseException:
        sock.close()
        raise
