"""Serve the Django admin project on 127.0.0.1 (waitress, via ``tests.servers.serve_wsgi``).

    python -m tests.apps.django_admin.server DATA_DIR [--wrap]

Prepares a fresh database in ``DATA_DIR``, serves the project (``--wrap``: inside
``PostbackMiddleware``, keys from ``POSTBACK_SECRET_KEYS``), prints ``URL <base url>`` once it
listens, and stops when its standard input closes. Form posts the project receives are
recorded in ``DATA_DIR/posts.jsonl`` (``tests.apps.recorder``); logs go to
``DATA_DIR/server.log``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--wrap", action="store_true", help="serve it inside PostbackMiddleware")
    args = parser.parse_args()
    data_dir: Path = args.data_dir
    logging.basicConfig(filename=data_dir / "server.log", level=logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress").setLevel(logging.WARNING)

    from ..recorder import PostRecorder
    from . import project

    project.configure(data_dir)
    project.prepare()
    app: Any = PostRecorder(project.wsgi_app(), data_dir / "posts.jsonl")
    if args.wrap:
        from postback_middleware import PostbackMiddleware

        app = PostbackMiddleware(app, secret_keys=os.environ["POSTBACK_SECRET_KEYS"].split())

    from ...servers import serve_wsgi

    with serve_wsgi(app) as base_url:
        print("URL", base_url, flush=True)
        sys.stdin.read()  # until the test closes our standard input (or ends)


if __name__ == "__main__":
    main()
