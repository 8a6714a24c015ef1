"""The compiled engine of ``html_scan`` (``_cscan.c``); see ``scanners._engine_maker``."""

from collections.abc import Callable, Collection
from typing import Any

class Scanner:
    def __init__(
        self,
        *,
        encoding: str,
        names: tuple[bytes, ...] | None,
        hints: tuple[bytes, ...],
        postbacks: bool,
        decode_text: Callable[[bytes], str],
        decode_value: Callable[[bytes], str],
        tag_type: type[tuple[Any, ...]],
        cuts: bool = ...,
        family_type: type | None = ...,
        rows_type: type | None = ...,
        bare_type: type[tuple[Any, ...]] | None = ...,
    ) -> None: ...
    def scan(self, data: bytes | bytearray | memoryview, final: bool, start: int = ...
             ) -> tuple[list[Any], int]: ...
    @property
    def in_data(self) -> bool: ...
    def restart_into(self, other: Scanner, /) -> bool: ...
    def watch_panels(self, ids: Collection[str]) -> None: ...

def splice_forms(document: bytes, insertions: list[tuple[int, bytes]], offsets: list[int],
                 start: bytes, middle: bytes, tags: bytes, end: bytes, first: int) -> bytes: ...
def find_post_form(document: bytes | bytearray | memoryview, start: int) -> tuple[int, int]: ...
