"""Serve the demo on 127.0.0.1 with waitress, as ``pserve examples/demo.ini`` would.

Usage: python examples/serve.py [--port 6543]

The secret key comes from POSTBACK_SECRET_KEYS; when it is unset, a fresh random key is made for
this run (and said so in the log), so no key is ever shipped and the demo still starts at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
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
    url = f"http://127.0.0.1:{args.port}/"
    print(f"postback-middleware demo: open {url}  (Ctrl+C to stop)", flush=True)
    waitress.serve(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
