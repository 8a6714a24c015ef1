"""A real WSGI server for tests whose behaviour on the wire matters (and for the browser suite)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def serve_wsgi(app: Callable[..., Any], *, threads: int = 8) -> Iterator[str]:
    """Serve ``app`` with waitress on a free local port; yield ``http://127.0.0.1:PORT``."""
    import waitress

    server: Any = waitress.create_server(
        app, host="127.0.0.1", port=0, threads=threads, clear_untrusted_proxy_headers=True
    )
    stop = threading.Event()

    def run() -> None:
        # waitress's own run() ends only when its socket map is empty, which means closing
        # sockets from another thread through the server's trigger pipe: a race (Pylons/waitress
        # #468) that failed a teardown with EBADF now and then. Here the loop polls in short
        # rounds and, once told to stop, closes everything itself, in its own thread.
        try:
            while not stop.is_set():
                server.asyncore.loop(timeout=0.05, map=server._map, count=1,
                                     use_poll=server.adj.asyncore_use_poll)
        finally:
            for dispatcher in list(server._map.values()):
                if dispatcher is not server and dispatcher is not server.trigger:
                    dispatcher.handle_close()  # open client connections
            server.close()  # the listening socket and the trigger

    thread = threading.Thread(target=run, name="waitress-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=10)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        if thread.is_alive():  # pragma: no cover - would be a bug in the loop above
            raise RuntimeError("test server thread did not stop")
