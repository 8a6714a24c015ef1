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
    thread = threading.Thread(target=server.run, name="waitress-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # Close every socket from inside the server's own loop thread; the loop ends once its
        # socket map is empty. Then stop the worker threads.
        def close_all() -> None:
            for dispatcher in list(server._map.values()):
                if dispatcher is not server and dispatcher is not server.trigger:
                    dispatcher.handle_close()  # open client connections
            server.close()  # the listening socket and the trigger

        server.trigger.pull_trigger(close_all)
        thread.join(timeout=10)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        if thread.is_alive():  # pragma: no cover - would be a bug in the shutdown above
            raise RuntimeError("test server thread did not stop")
