"""Staff and admin accounts: users with roles, argon2 password hashes, lockout, and server-side login sessions."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import DateTime, ForeignKey, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from routing.models import Appeal, RoutingSetting, Unit
from storage import Base, EnumString


class Role(StrEnum):
    """What an account may do: unit staff and unit heads (console, their unit), 区营商办 (console, every unit),
    admins (the admin pages). The value is the role as stored and as `appealbot users create --role` takes it."""

    STAFF = "staff"
    UNIT_HEAD = "unit_head"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLES = tuple(Role)
ROLE_LABELS: dict[Role, str] = {
    Role.STAFF: "经办人员",
    Role.UNIT_HEAD: "单位负责人",
    Role.SUPERVISOR: "区营商办督办",
    Role.ADMIN: "系统管理员",
}
UNIT_ROLES = (Role.STAFF, Role.UNIT_HEAD)  # roles that belong to one unit
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{3,64}")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
SESSION_LIFETIME = timedelta(hours=12)

_hasher = PasswordHasher()
_dummy_hash: str | None = None


class User(Base):
    """A person who signs in to the console or the admin pages."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(EnumString(Role, 16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey(Unit.__table__.c.id), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginSession(Base):
    """A signed-in browser: the cookie holds a random token, this row its SHA-256 and the form (CSRF) token."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AppealRead(Base):
    """When a user last looked at an appeal's page (its conversation included), for "新消息" in the queue."""

    __tablename__ = "appeal_reads"

    appeal_id: Mapped[int] = mapped_column(ForeignKey(Appeal.__table__.c.id, ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccountError(ValueError):
    """An account that cannot be created as asked; the message says what to change."""


@dataclass(frozen=True)
class SignedIn:
    """Who is behind a request: the user and the session's form token."""

    user_id: int
    username: str
    role: Role
    unit_id: int | None
    csrf: str


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Refuse a password that is too short, too long or blank-edged."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符（现在 {len(password)} 个）")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"密码最多 {MAX_PASSWORD} 个字符")
    if password != password.strip():
        raise AccountError("密码首尾不能是空格")


def find_unit(*, session: Session, unit: str) -> Unit:
    """A routing unit by name, id or alias; AccountError naming the closest and some known units otherwise."""
    text = unit.strip()
    found = session.get(Unit, int(text)) if text.isdigit() else None
    found = found or session.scalars(select(Unit).where(Unit.name == text)).first()
    if found is not None:
        return found
    units = list(session.scalars(select(Unit).order_by(Unit.id)))
    found = next((row for row in units if text and text in (row.aliases or [])), None)
    if found is None:
        names = [row.name for row in units]
        close = difflib.get_close_matches(text, names, n=1, cutoff=0.6)
        guess = f"，是不是「{close[0]}」？" if close else ""
        known = "、".join(names[:8]) + (f" 等 {len(names)} 个" if len(names) > 8 else "") if names else "（单位表为空）"
        raise AccountError(f"没有名为「{text}」的单位{guess}；已有单位例如：{known}")
    return found


def supervisor_unit(*, session: Session) -> Unit | None:
    """The unit of 区营商办 as the routing table names it (setting supervisor_unit), if it exists."""
    setting = session.get(RoutingSetting, "supervisor_unit")
    name = str(setting.value) if setting is not None else "区营商办"
    return session.scalars(select(Unit).where(Unit.name == name)).first()


def _unit_for(session: Session, role: Role, unit: str | None) -> Unit | None:
    """The unit of an account: its own for unit roles, 区营商办 for supervisors, none for admins."""
    if role in UNIT_ROLES:
        if not unit:
            raise AccountError(f"角色 {role} 属于某个单位，请指定单位名称或编号")
        found = find_unit(session=session, unit=unit)
        if not found.active:
            raise AccountError(f"单位「{found.name}」已停用，不能再为它设账号")
        return found
    if role == Role.ADMIN:
        if unit:
            raise AccountError("角色 admin（系统管理员）不属于任何单位，请不要指定单位")
        return None
    office = supervisor_unit(session=session)
    if unit:
        given = find_unit(session=session, unit=unit)
        if office is None or given.id != office.id:
            name = office.name if office else "区营商办"
            raise AccountError(
                f"角色 supervisor 属于{name}（督办全部单位），不能指定为「{given.name}」；请不要指定单位"
            )
    return office


def create_user(*, session: Session, username: str, password: str, role: str, unit: str | None = None) -> User:
    """A new active user after checking every rule; AccountError says which one failed."""
    if not USERNAME.fullmatch(username):
        raise AccountError(f"用户名「{username}」无效：须为 3-64 位字母、数字或 _ . @ -")
    if role not in ROLES:
        raise AccountError(f"角色「{role}」无效，应为 {', '.join(ROLES)} 之一")
    chosen = Role(role)
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise AccountError(f"用户「{username}」已存在")
    unit_row = _unit_for(session, chosen, unit)
    check_password_rules(password)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=chosen,
        unit_id=unit_row.id if unit_row else None,
        active=True,
        failed_logins=0,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class LoginCandidate:
    """What a login needs from the database before checking a password (nothing when there is no such user)."""

    user_id: int | None
    password_hash: str | None

    @property
    def generation(self) -> str:
        """Changes with the password hash: a reset password starts the lockout counts afresh."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:12] if self.password_hash else ""


def login_candidate(*, session: Session, username: str) -> LoginCandidate:
    """The active user of this name and its hash; an empty candidate for unknown or disabled names."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        return LoginCandidate(None, None)
    return LoginCandidate(user.id, user.password_hash)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(right, new hash when the stored one needs rehashing). CPU-heavy: callers run it off the event loop.

    Without a hash (unknown user) it checks against a dummy one, so the work and the time are the same
    and the answer never reveals which usernames exist.
    """
    global _dummy_hash
    if password_hash is None:
        _dummy_hash = _dummy_hash or hash_password(secrets.token_hex(16))
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash, password)
        return False, None
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, hash_password(password) if _hasher.check_needs_rehash(password_hash) else None


def signed_in_as(
    *, session: Session, user_id: int, new_hash: str | None = None, now: datetime | None = None
) -> User | None:
    """The user after a right password, its last login noted (and its hash renewed); None if disabled since."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    if new_hash is not None:
        user.password_hash = new_hash
    user.last_login_at = now or datetime.now(UTC)
    return user


def authenticate(*, session: Session, username: str, password: str) -> tuple[User | None, str]:
    """(user, "ok") when the password is right, else (None, "bad"); the web adds the lockout (bot/web/lockout.py)."""
    candidate = login_candidate(session=session, username=username)
    right, new_hash = verify_password(candidate.password_hash, password)
    user = (
        signed_in_as(session=session, user_id=candidate.user_id, new_hash=new_hash)
        if right and candidate.user_id
        else None
    )
    return (user, "ok") if user is not None else (None, "bad")


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(*, session: Session, user: User, now: datetime | None = None) -> str:
    """A new login session for the user; returns the cookie token (only its hash is stored)."""
    now = now or datetime.now(UTC)
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            id=_token_id(token),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    return token


def signed_in(*, session: Session, token: str, now: datetime | None = None) -> SignedIn | None:
    """Who holds this cookie token, if the session is live and the user still active."""
    now = now or datetime.now(UTC)
    statement = select(LoginSession, User).join(User, User.id == LoginSession.user_id)
    row = session.execute(statement.where(LoginSession.id == _token_id(token))).first()
    if row is None:
        return None
    login, user = row
    expires_at = _aware(login.expires_at)
    if not user.active or expires_at is None or expires_at <= now:
        return None
    return SignedIn(user_id=user.id, username=user.username, role=user.role, unit_id=user.unit_id, csrf=login.csrf)


def close_session(*, session: Session, token: str) -> None:
    """Forget a login session (logout)."""
    session.execute(delete(LoginSession).where(LoginSession.id == _token_id(token)))


def deactivate(*, session: Session, username: str) -> bool:
    """Disable a user and end their sessions; False if there is no such user."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        return False
    session.execute(update(User).where(User.id == user.id).values(active=False))
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return True


# -- what admins do to accounts (the admin pages' 账号 and `appealbot users disable|list`) --


@dataclass(frozen=True)
class Account:
    """An account as the admin list shows it."""

    id: int
    username: str
    role: Role
    unit: str
    active: bool
    last_login_at: datetime | None
    created_at: datetime

    def to_dict(self) -> dict[str, object]:
        last = _aware(self.last_login_at)
        return {
            "username": self.username, "role": str(self.role), "unit": self.unit or None, "active": self.active,
            "last_login_at": last.isoformat() if last else None,
        }  # fmt: skip


def list_accounts(*, session: Session) -> list[Account]:
    """Every account, active ones first, by username."""
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    return [
        Account(user.id, user.username, user.role, units.get(user.unit_id, "") if user.unit_id else "", user.active,
                user.last_login_at, user.created_at)
        for user in session.scalars(select(User).order_by(User.active.desc(), User.username))
    ]  # fmt: skip


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise AccountError(f"没有用户「{username}」")
    return user


def change_role(*, session: Session, username: str, role: str, unit: str | None) -> User:
    """Give an account another role or unit, checked as when it was created."""
    user = _user(session, username)
    if role not in ROLES:
        raise AccountError(f"角色「{role}」无效，应为 {', '.join(ROLES)} 之一")
    chosen = Role(role)
    unit_row = _unit_for(session, chosen, unit)
    user.role, user.unit_id = chosen, unit_row.id if unit_row else None
    # What the account may see changed: its open sessions end, so no page shows the old scope.
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user


def set_active(*, session: Session, username: str, active: bool) -> User:
    """Disable an account (its sessions end at once) or enable it again."""
    user = _user(session, username)
    if not active:
        deactivate(session=session, username=username)
    else:
        session.execute(update(User).where(User.id == user.id).values(active=True, failed_logins=0, locked_until=None))
    session.refresh(user)
    return user


def reset_password(*, session: Session, username: str, password: str) -> User:
    """Set a new password (checked by the rules); the account's sessions end and any lockout is lifted."""
    user = _user(session, username)
    check_password_rules(password)
    user.password_hash, user.failed_logins, user.locked_until = hash_password(password), 0, None
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user
