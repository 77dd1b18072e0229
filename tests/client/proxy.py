"""A TCP proxy between `crs` and the API that a test can cut, as a flaky network or a
restarting load balancer does; it keeps each request's head to show what the client sent."""

from __future__ import annotations

import contextlib
import socket
import threading

from testkit.processes import free_port


class Proxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[bytes] = []  # the first bytes each client sent, one per connection
        self.corrupt = False  # flip one byte of each response body, as a faulty middlebox would
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                downstream.close()  # the API is down: the client sees the connection drop
                continue
            upstream.settimeout(None)
            index = len(self.requests)
            self.requests.append(b"")
            with self._lock:
                self._open += [downstream, upstream]
            threading.Thread(
                target=self._pump, args=(downstream, upstream, index), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(upstream, downstream, None), daemon=True
            ).start()

    def _pump(self, source: socket.socket, target: socket.socket, index: int | None) -> None:
        head = b""  # of a response, until its blank line
        flipped = False
        try:
            while data := source.recv(65536):
                if index is not None and len(self.requests[index]) < 4096:
                    self.requests[index] += data
                if index is None and self.corrupt and not flipped:
                    at = len(head)
                    head += data
                    end = head.find(b"\r\n\r\n")
                    if end >= 0 and end + 4 < len(head):
                        position = end + 4 - at  # the body's first byte, in this chunk
                        data = (
                            data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]
                        )
                        flipped = True
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def cut(self) -> None:
        """Drop every open connection, both ways, mid-response."""
        with self._lock:
            opened, self._open = self._open, []
        for sock in opened:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.cut()
        self._listener.close()
