"""The text of a file saved by Excel or an editor: UTF-8 with or without BOM, UTF-16 with BOM, or GBK."""

from __future__ import annotations

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_text(data: bytes) -> tuple[str, str] | None:
    """The text and the encoding's name ("UTF-8", "UTF-16" or "GBK"), or None when none of them fits."""
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves "CSV (逗号分隔)" in the ANSI code page, GBK; GB18030 is its superset.
        return data.decode("gb18030"), "GBK"
    except UnicodeDecodeError:
        return None
