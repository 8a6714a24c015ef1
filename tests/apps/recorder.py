"""A WSGI layer that records the form posts the app below it receives (what the app sees).

Placed directly around the app in both runs of the transparency suite (bare, and under the
middleware), so the two logs say whether the app got the same requests with the same fields:
method, path, query, form kind, every field in order (files as name, size and SHA-256). It
reads the body whole and hands the app the very same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class PostRecorder:
    """Record every form POST ``app`` receives, as one JSON line in ``log_path``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], log_path: Path) -> None:
        self.app = app
        self.log_path = log_path
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            self._record(environ)
        return self.app(environ, start_response)

    def _record(self, environ: dict[str, Any]) -> None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # the app reads the same bytes
        content_type = environ.get("CONTENT_TYPE", "")
        kind = content_type.split(";")[0].strip().lower()
        entry: dict[str, Any] = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "kind": kind,
            "length_matches": len(body) == length,
            "fields": fields_of(kind, content_type, body),
        }
        with self._lock, self.log_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")


def fields_of(kind: str, content_type: str, body: bytes) -> list[list[Any]]:
    """The fields of a form body, in order: ``[name, value]`` or ``[name, {file...}]``."""
    if kind == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", "replace")
        return [[name, value] for name, value in parse_qsl(text, keep_blank_values=True)]
    if kind == "multipart/form-data":
        import multipart

        boundary = multipart.parse_options_header(content_type)[1].get("boundary", "")
        found: list[list[Any]] = []
        parser = multipart.MultipartParser(io.BytesIO(body), boundary, len(body))
        for part in parser:
            if part.filename is not None:
                data = part.raw
                found.append([part.name, {"filename": part.filename, "size": len(data),
                                          "sha256": hashlib.sha256(data).hexdigest(),
                                          "content_type": part.content_type}])
            else:
                found.append([part.name, part.value])
        return found
    return [["(body)", hashlib.sha256(body).hexdigest()]]


def read_log(log_path: Path) -> list[dict[str, Any]]:
    if not log_path.exists():
        return []
    with log_path.open(encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]
