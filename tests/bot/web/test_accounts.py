"""Accounts: argon2 hashes, roles and units, no user enumeration, login sessions, and `appealbot users create`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import accounts
from bot.accounts import AccountError, User
from bot.cli import main as cli
from bot.platform import db
from bot.platform.settings import Settings
from routing.models import Unit
from tests.conftest import PRODUCTION_HASHER

pytestmark = pytest.mark.database("schema")  # migrated, with the routing table's units


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    engine = db.make_engine(settings.database_url)
    with db.session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def production_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own hasher, instead of the cheap one the other tests hash with (tests/conftest.py)."""
    monkeypatch.setattr(accounts, "_hasher", PRODUCTION_HASHER)


def test_password_is_stored_as_an_argon2_hash(session: Session) -> None:
    user = accounts.create_user(session=session, username="admin", password="correct horse 1", role="admin")
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse 1" not in user.password_hash
    assert accounts.authenticate(session=session, username="admin", password="correct horse 1")[1] == "ok"
    assert accounts.authenticate(session=session, username="admin", password="correct horse 2") == (None, "bad")


def test_production_hashes_are_argon2id_with_strong_parameters(session: Session, production_hasher: None) -> None:
    user = accounts.create_user(session=session, username="admin", password="correct horse 1", role="admin")
    parameters = extract_parameters(user.password_hash)
    # at least OWASP's minimum for argon2id (19 MiB, 2 passes); the library's default is 64 MiB, 3 passes, 4 lanes
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2
    assert accounts.authenticate(session=session, username="admin", password="correct horse 1")[1] == "ok"


@pytest.mark.parametrize(
    ("username", "password", "role", "unit", "message"),
    [
        ("ab", "long enough 1", "admin", None, "用户名「ab」无效"),
        ("bad name", "long enough 1", "admin", None, "用户名「bad name」无效"),
        ("bob", "long enough 1", "boss", None, "角色「boss」无效，应为 staff, unit_head, supervisor, admin 之一"),
        ("bob", "long enough 1", "staff", None, "角色 staff 属于某个单位，请指定单位"),
        ("bob", "short", "admin", None, "密码至少 10 个字符（现在 5 个）"),
        ("bob", " padded password ", "admin", None, "密码首尾不能是空格"),
        ("bob", "long enough 1", "unit_head", "区不存在局", "没有名为「区不存在局」的单位；已有单位例如：区营商办"),
    ],
)
def test_bad_accounts_are_refused(
    session: Session, username: str, password: str, role: str, unit: str | None, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        accounts.create_user(session=session, username=username, password=password, role=role, unit=unit)


def test_unit_by_name_or_id_and_no_duplicates(session: Session) -> None:
    staff = accounts.create_user(
        session=session, username="clerk", password="long enough 1", role="staff", unit="区审批局"
    )
    head = accounts.create_user(
        session=session, username="head", password="long enough 1", role="unit_head", unit=str(staff.unit_id)
    )
    assert staff.unit_id is not None and head.unit_id == staff.unit_id
    with pytest.raises(AccountError, match="用户「clerk」已存在"):
        accounts.create_user(session=session, username="clerk", password="long enough 1", role="admin")


def test_unknown_and_known_names_do_the_same_work(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts.create_user(session=session, username="admin", password="correct horse 1", role="admin")
    known = accounts.login_candidate(session=session, username="admin")
    unknown = accounts.login_candidate(session=session, username="nobody")
    assert known.user_id is not None and known.generation and unknown == accounts.LoginCandidate(None, None)
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            calls.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(accounts, "_hasher", Counting(time_cost=1, memory_cost=8, parallelism=1))
    assert accounts.verify_password(unknown.password_hash, "correct horse 1") == (False, None)
    assert accounts.verify_password(known.password_hash, "wrong") == (False, None)
    assert accounts.verify_password(known.password_hash, "correct horse 1") == (True, None)
    assert len(calls) == 3 and calls[0] != known.password_hash  # the unknown name was checked against a dummy hash


def test_sessions_expire_and_end_with_logout_or_deactivation(session: Session) -> None:
    user = accounts.create_user(session=session, username="admin", password="correct horse 1", role="admin")
    now = datetime.now(UTC)
    token = accounts.open_session(session=session, user=user, now=now)
    signed = accounts.signed_in(session=session, token=token, now=now)
    assert signed is not None and signed.username == "admin" and signed.role == "admin" and len(signed.csrf) >= 32
    assert accounts.signed_in(session=session, token=token + "x", now=now) is None
    assert accounts.signed_in(session=session, token=token, now=now + accounts.SESSION_LIFETIME) is None
    accounts.close_session(session=session, token=token)
    assert accounts.signed_in(session=session, token=token, now=now) is None
    again = accounts.open_session(session=session, user=user, now=now)
    assert accounts.deactivate(session=session, username="admin")
    assert accounts.signed_in(session=session, token=again, now=now) is None
    assert accounts.authenticate(session=session, username="admin", password="correct horse 1") == (None, "bad")


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("APPEALBOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("APPEALBOT_NEW_PASSWORD", raising=False)
    return settings


def users(settings: Settings) -> dict[str, User]:
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_factory(engine)() as session:
            return {user.username: user for user in session.scalars(select(User))}
    finally:
        engine.dispose()


def test_cli_reads_the_password_from_stdin(
    env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse 1\n"))
    assert cli.main(["users", "create", "clerk", "--role", "staff", "--unit", "区审批局"]) == 0
    assert "已创建用户 clerk（经办人员）" in capsys.readouterr().out
    engine = db.make_engine(env.database_url)
    with db.session_factory(engine)() as session:
        assert accounts.authenticate(session=session, username="clerk", password="correct horse 1")[1] == "ok"
    engine.dispose()


def test_cli_reads_the_password_from_the_environment(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPEALBOT_NEW_PASSWORD", "from the environment")
    monkeypatch.setattr("sys.stdin", io.StringIO("not this one\n"))
    assert cli.main(["users", "create", "boss", "--role", "supervisor"]) == 0
    assert users(env)["boss"].role == "supervisor"


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["users", "create", "clerk", "--role", "staff"], "correct horse 1\n", "请指定单位名称或编号"),
        (["users", "create", "clerk", "--role", "root"], "correct horse 1\n", "角色「root」无效"),
        (["users", "create", "admin", "--role", "admin"], "", "没有读到密码"),
        (["users", "create", "admin", "--role", "admin"], "short\n", "密码至少 10 个字符"),
        (
            ["users", "create", "clerk", "--role", "staff", "--unit", "审批局"],
            "correct horse 1\n",
            "没有名为「审批局」的单位，是不是「区审批局」？；已有单位例如：区营商办、",
        ),
        (
            ["users", "create", "clerk", "--role", "staff", "--unit", "999"],
            "correct horse 1\n",
            "没有名为「999」的单位；已有单位例如：区营商办、区投资局",
        ),
        (
            ["users", "create", "root", "--role", "admin", "--unit", "区审批局"],
            "correct horse 1\n",
            "角色 admin（系统管理员）不属于任何单位，请不要指定单位",
        ),
        (
            ["users", "create", "boss", "--role", "supervisor", "--unit", "区审批局"],
            "correct horse 1\n",
            "角色 supervisor 属于区营商办（督办全部单位），不能指定为「区审批局」",
        ),
    ],
)
def test_cli_bad_input_exits_2_with_a_precise_message(
    env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert users(env) == {}


def test_cli_never_takes_the_password_from_argv(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["users", "create", "admin", "--role", "admin", "--password", "correct horse 1"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --password" in capsys.readouterr().err


def test_cli_links_accounts_to_routing_units(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPEALBOT_NEW_PASSWORD", "correct horse 1")
    assert cli.main(["users", "create", "street", "--role", "staff", "--unit", "北院门"]) == 0  # an alias
    assert cli.main(["users", "create", "boss", "--role", "supervisor"]) == 0
    assert cli.main(["users", "create", "boss2", "--role", "supervisor", "--unit", "区营商办"]) == 0
    engine = db.make_engine(env.database_url)
    with db.session_factory(engine)() as session:
        names = dict(session.execute(select(User.username, Unit.name).join(Unit, Unit.id == User.unit_id)).all())
    engine.dispose()
    assert names == {"street": "北院门街道办事处", "boss": "区营商办", "boss2": "区营商办"}
