"""The compiled twin of ``tokens._seal`` (``_cseal.c``); see ``tokens._seal_claims``."""

from typing import Any

def seal(claims: bytes, keyed: Any, max_size: int, /) -> str | None: ...
