"""Tables in files, for every importer: read .xlsx, .csv and .json within limits, write them, name each problem.

Pure (no database, no web). What the columns mean belongs to the domain that reads them.
"""

from tabular.cells import cell_text, is_blank
from tabular.encodings import decode_text
from tabular.limits import MB, Limits
from tabular.problems import WORDING, Problem, Unreadable, Wording
from tabular.reading import FORMATS, Table, TableFile
from tabular.writing import csv_bytes, json_bytes, xlsx_bytes

__all__ = [
    "FORMATS", "MB", "WORDING", "Limits", "Problem", "Table", "TableFile", "Unreadable", "Wording",
    "cell_text", "csv_bytes", "decode_text", "is_blank", "json_bytes", "xlsx_bytes",
]  # fmt: skip
