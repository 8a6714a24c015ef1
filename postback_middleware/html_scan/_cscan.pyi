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
        panel_end_type: type[tuple[Any, ...]] | None = ...,
    ) -> None: ...
    def scan(self, data: bytes | bytearray | memoryview, final: bool, start: int = ...
             ) -> tuple[list[Any], int]: ...
    @property
    def in_data(self) -> bool: ...
    @property
    def open_regions(self) -> int: ...
    def restart_into(self, other: Scanner, /) -> bool: ...
    def watch_panels(self, ids: Collection[str]) -> None: ...

def splice_forms(document: bytes, insertions: list[tuple[int, bytes]], offsets: list[int],
                 start: bytes, middle: bytes, tags: bytes, end: bytes, first: int) -> bytes: ...
def find_post_form(document: bytes | bytearray | memoryview, start: int) -> tuple[int, int]: ...
def plain_actions(items: list[Any], bare_type: type[tuple[Any, ...]]) -> int: ...
def take_bare(items: list[Any], start: int, before: str, bare_type: type[tuple[Any, ...]],
              tags: list[Any], paths: list[str], pairs: list[Any], ends: list[int]) -> int: ...
