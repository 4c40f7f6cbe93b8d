"""What every package's tables share: one declarative base with one naming convention, so that one
`MetaData` describes the whole schema for Alembic, and the column types that behave alike on SQLite and
PostgreSQL (an aware UTC timestamp, a StrEnum kept as its string value). The domains (`policies`, `routing`)
and `bot` declare their tables on `storage.Base`; nothing here knows them.
"""

from storage.base import NAMING, UTC_TIME, Base, EnumString, UTCDateTime

__all__ = ["NAMING", "UTC_TIME", "Base", "EnumString", "UTCDateTime"]
