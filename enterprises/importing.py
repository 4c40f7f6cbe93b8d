"""Read a register of enterprises (.xlsx, .csv, .json) and check every row; the service upserts the clean ones."""

from __future__ import annotations

from pathlib import Path

from enterprises.fields import FIELDS, clean_profile
from enterprises.vocabulary import Vocabulary
from tabular import MB, Limits
from tabular.records import Records, read_records

# A district register of 100,000 enterprises with contacts is about 15 MB as .csv.
LIMITS = Limits(max_bytes=30 * MB, max_rows=200_000)


def read_file(path: Path, *, vocabulary: Vocabulary, name: str | None = None) -> Records:
    """Read and validate a whole register file without touching the database; never raises for bad content."""
    return read_records(
        path,
        fields=FIELDS,
        clean=lambda raw: clean_profile(raw, vocabulary),
        limits=LIMITS,
        noun="企业",
        key="uscc",
        name=name,
    )
