"""The plain demo (``examples/demo.ini``) as a module-level WSGI ``app``, for servers like gunicorn.

Run:  POSTBACK_SECRET_KEYS=... gunicorn --workers 2 --bind 127.0.0.1:6543 \\
          --pythonpath examples frameworks.demo_wsgi:app

Every worker loads the demo on its own; they share nothing but the key list, and a page served by
one worker posts back to any other.
"""

from __future__ import annotations

import sys
from pathlib import Path

from paste.deploy import loadapp

EXAMPLES = Path(__file__).resolve().parent.parent
if str(EXAMPLES) not in sys.path:  # demo.ini names its handlers as demo_app:...
    sys.path.insert(0, str(EXAMPLES))

app = loadapp(f"config:{EXAMPLES / 'demo.ini'}", name="main")
