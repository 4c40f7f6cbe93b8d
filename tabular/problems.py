"""What is wrong with a file and where (file, sheet, row, column), and the words each refusal is told in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """Why (part of) a file is refused, and where: file, sheet, row (as the spreadsheet numbers it) and column."""

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    unit: str = "行"  # a JSON file has records (条), not rows

    def __str__(self) -> str:
        where = [f"文件 {self.file}"]
        if self.sheet:
            where.append(f"工作表「{self.sheet}」")
        if self.row is not None:
            where.append(f"第 {self.row} {self.unit}")
        if self.column:
            where.append(f"列「{self.column}」")
        return "，".join(where) + f"：{self.message}"


class Unreadable(Exception):
    """The file cannot be read at all; the problem says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class Wording:
    """The message for each way a whole file is refused; an importer may keep the words its users know."""

    # str.format templates; they may use suffix, size_mb, limit_mb, limit, sheet, error (the exception's
    # text) and reason (a JSON syntax error's reason without its position).

    unsupported: str = "不支持的文件类型「{suffix}」：请用 .xlsx、.csv 或 .json"
    missing: str = "文件不存在"
    too_large: str = "文件有 {size_mb:.1f} MB，超过导入上限 {limit_mb} MB；请分批导入"
    empty: str = "文件是空的"
    too_many_rows: str = "超过 {limit} 行，请分批导入"
    old_excel: str = "这是旧版 Excel 97-2003 (.xls) 文件：请在 Excel 中“另存为 → Excel 工作簿 (.xlsx)”"
    not_xlsx: str = "扩展名是 .xlsx，但内容不是 Excel 工作簿（可能是改了扩展名的其他文件）"
    no_workbook: str = "这个 .xlsx 里没有工作簿（xl/workbook.xml），不是 Excel 文件"
    unpacked: str = "解压后超过 {limit_mb} MB，拒绝读取"
    damaged: str = "Excel 文件已损坏或无法读取（{error}）"
    no_sheet: str = "没有名为「{sheet}」的工作表"
    excel_as_csv: str = "扩展名是 .csv，但内容是 Excel 工作簿：请改用 .xlsx 扩展名，或另存为 CSV UTF-8"
    undecodable: str = "无法识别文件编码：请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）(*.csv)”后重新导入"
    binary: str = "文件含有二进制内容，不是 CSV 文本"
    bad_csv: str = "CSV 格式错误：{error}"
    json_encoding: str = "不是有效的 UTF-8 JSON：{error}"
    json_syntax: str = "不是有效的 UTF-8 JSON：{error}"
    json_line_as_row: bool = False  # name the line of a JSON syntax error as the problem's row


WORDING = Wording()
