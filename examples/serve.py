"""Serve the demo on 127.0.0.1 with waitress, as ``pserve examples/demo.ini`` would.

Usage: python examples/serve.py [--port 6543]  (``--port 0``: any free port)

It binds first, then prints the address it listens on (the real port, with ``--port 0``), and
says so plainly when the port is taken.

The secret key comes from POSTBACK_SECRET_KEYS; when it is unset, a fresh random key is made for
this run (and said so in the log), so no key is ever shipped and the demo still starts at once.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import secrets
import sys
from pathlib import Path

import waitress
from paste.deploy import loadapp

log = logging.getLogger("demo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6543)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not os.environ.get("POSTBACK_SECRET_KEYS"):
        os.environ["POSTBACK_SECRET_KEYS"] = secrets.token_urlsafe(48)
        log.warning(
            "POSTBACK_SECRET_KEYS is unset: using a fresh random key for this run only "
            "(pages from an earlier run will not verify)"
        )
    app = loadapp(f"config:{Path(__file__).resolve().with_name('demo.ini')}", name="main")
    try:
        server = waitress.create_server(app, host="127.0.0.1", port=args.port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        sys.exit(f"port {args.port} is taken (is the demo already running?): stop what uses "
                 "it, or pick another with --port (--port 0: any free port)")
    url = f"http://127.0.0.1:{server.effective_port}/"
    print(f"postback-middleware demo: open {url}  (Ctrl+C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
