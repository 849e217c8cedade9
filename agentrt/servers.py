"""Serving helper: run an ASGI app with uvicorn on loopback, on a chosen or ephemeral port.

Used by `agentrt serve-demo`, `agentrt demo`, the examples and the tests that need a real
socket. Binding happens before the port is reported, so port 0 ("any free port") is race-free.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["ServedApp", "bind_socket", "serve_in_thread"]


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: with protocol 0 asyncio never sets TCP_NODELAY on accepted
    # connections and every response waits ~40 ms on a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class ServedApp:
    """An app being served by uvicorn in a background thread; ``url`` is its base URL."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning", **config: Any) -> None:
        import uvicorn

        self.sock = bind_socket(host, port)
        self.host = host
        self.port: int = self.sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        cfg = uvicorn.Config(app, log_level=log_level, lifespan="auto", **config)
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
            name=f"uvicorn:{self.port}",
        )

    def start(self, timeout: float = 20.0) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"server on {self.url} exited during startup")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {self.url} did not start in {timeout}s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        with contextlib.suppress(OSError):
            self.sock.close()


@contextlib.contextmanager
def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0,
                    **config: Any) -> Iterator[ServedApp]:
    """Serve ``app`` on loopback for the duration of the ``with`` block."""
    served = ServedApp(app, host=host, port=port, **config).start()
    try:
        yield served
    finally:
        served.stop()
