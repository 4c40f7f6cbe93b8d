"""How much of a file is read before it is refused: its size, its data rows, and an .xlsx unpacked."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """A file above max_bytes is refused from its size alone, before any of it is read."""

    max_bytes: int
    max_rows: int | None = None  # data rows (not counting the header and blank rows); None: no limit
    max_unpacked: int = 200 * MB  # an .xlsx is a zip: refuse one that unpacks to more than this (a zip bomb)
