"""What every command group shares: refusing bad input (exit status 2), the prepared database, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from bot.platform import db
from bot.platform.settings import Settings
from tabular import Problem

BAD_INPUT = 2
SHOWN_PROBLEMS = 50


def refuse(message: str) -> int:
    """Print a refusal for a bad input and return exit status 2."""
    print(f"appealbot: {message}", file=sys.stderr)
    return BAD_INPUT


def refuse_problems(problems: list[Problem], nothing: str) -> int:
    """Print the first problems of a refused file (file, row, column, reason) and what was not done."""
    for problem in problems[:SHOWN_PROBLEMS]:
        print(f"appealbot: {problem}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        print(f"appealbot: ……另有 {len(problems) - SHOWN_PROBLEMS} 处问题未列出", file=sys.stderr)
    return refuse(f"{nothing}（共 {len(problems)} 处问题）")


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """The configured database, migrated, with the default routing table; disposed afterwards."""
    from bot.services import prepare_database

    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=False)
        yield engine
    finally:
        engine.dispose()


def progress(total: int | None, description: str, *, large: bool) -> Any:
    """A tqdm bar for a long step, shown only on a terminal and only when the input is large."""
    from tqdm import tqdm

    # disable=None: only on a terminal, so scripts and logs get no carriage-return noise.
    return tqdm(total=total, desc=description, unit="行", disable=None if large else True)
