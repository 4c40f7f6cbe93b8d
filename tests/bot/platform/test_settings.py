"""Settings: config.toml plus APPEALBOT_<SECTION>_<KEY> overrides, and refusals that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.platform.settings import DEFAULT_CONFIG, SettingsError, load


def test_shipped_defaults_load() -> None:
    settings = load(environ={})
    assert settings.wechat.mode == "safe"
    assert settings.wechat.reply_budget == 4.0
    assert settings.redis.url == ""
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/appealbot.db")


def test_environment_overrides_every_section_with_types() -> None:
    settings = load(
        environ={
            "APPEALBOT_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "APPEALBOT_REDIS_URL": "redis://r:6379/1",
            "APPEALBOT_WECHAT_MODE": "plain",
            "APPEALBOT_WECHAT_API_BASE": "http://127.0.0.1:9/",
            "APPEALBOT_WECHAT_ENCODING_AES_KEY": "x" * 43,
            "APPEALBOT_WECHAT_REPLY_BUDGET": "2.5",
            "APPEALBOT_SERVER_PORT": "9000",
            "APPEALBOT_SIMULATOR_ENABLED": "false",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.redis.url == "redis://r:6379/1"
    assert settings.wechat.mode == "plain"
    assert settings.wechat.api_base == "http://127.0.0.1:9/"
    assert settings.wechat.encoding_aes_key == "x" * 43
    assert settings.wechat.reply_budget == 2.5
    assert settings.server.port == 9000
    assert settings.simulator.enabled is False


def test_another_config_file(tmp_path: Path) -> None:
    config = tmp_path / "district.toml"
    config.write_text('[wechat]\ntoken = "districttoken"\nmode = "plain"\n', encoding="utf-8")
    settings = load(environ={"APPEALBOT_CONFIG": str(config)})
    assert settings.wechat.token == "districttoken"
    assert settings.wechat.reply_budget == 4.0  # not in the file: the built-in default


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"APPEALBOT_WECHAT_MODE": "secure"}, "wechat.mode"),
        ({"APPEALBOT_SERVER_PORT": "eighty"}, "APPEALBOT_SERVER_PORT"),
        ({"APPEALBOT_SIMULATOR_ENABLED": "perhaps"}, "APPEALBOT_SIMULATOR_ENABLED"),
        ({"APPEALBOT_WECHAT_ENCODING_AES_KEY": "short"}, "wechat.encoding_aes_key"),
        ({"APPEALBOT_APP_ENV": "production"}, "demo value"),
        ({"APPEALBOT_LOG_FORMAT": "xml"}, "log.format"),
        ({"APPEALBOT_WECHAT_RECOVER_AFTER": "3"}, "wechat.recover_after"),  # within the reply budget
    ],
)
def test_bad_values_are_refused_by_name(environ: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names.replace(".", r"\.")):
        load(environ=environ)


def test_production_needs_real_secrets_and_no_simulator() -> None:
    real = {
        "APPEALBOT_APP_ENV": "production",
        "APPEALBOT_WECHAT_TOKEN": "realtoken123",
        "APPEALBOT_WECHAT_APP_ID": "wx1234567890abcdef",
        "APPEALBOT_WECHAT_APP_SECRET": "0123456789abcdef",
        "APPEALBOT_WECHAT_ENCODING_AES_KEY": "Q" * 43,
        "APPEALBOT_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "APPEALBOT_REDIS_URL": "redis://r:6379/1",
    }
    with pytest.raises(SettingsError, match="simulator"):
        load(environ=real)
    assert load(environ={**real, "APPEALBOT_SIMULATOR_ENABLED": "0"}).app.env == "production"


REAL_PRODUCTION = {
    "APPEALBOT_APP_ENV": "production",
    "APPEALBOT_SIMULATOR_ENABLED": "0",
    "APPEALBOT_WECHAT_TOKEN": "realtoken123",
    "APPEALBOT_WECHAT_APP_ID": "wx1234567890abcdef",
    "APPEALBOT_WECHAT_APP_SECRET": "0123456789abcdef",
    "APPEALBOT_WECHAT_ENCODING_AES_KEY": "Q" * 43,
    "APPEALBOT_DATABASE_URL": "postgresql+psycopg://u@h/db",
    "APPEALBOT_REDIS_URL": "redis://r:6379/1",
}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("APPEALBOT_WECHAT_APP_ID", "wechat.app_id"),
        ("APPEALBOT_WECHAT_ENCODING_AES_KEY", "wechat.encoding_aes_key"),
        ("APPEALBOT_WECHAT_TOKEN", "wechat.token"),
        ("APPEALBOT_WECHAT_APP_SECRET", "wechat.app_secret"),
    ],
)
def test_production_refuses_every_demo_secret(key: str, message: str) -> None:
    """Each shipped demo value alone stops a production start, and the message names it."""
    with pytest.raises(SettingsError, match=rf"{message.replace('.', '[.]')} still hold.*public demo"):
        load(environ=_without(key))


def _without(key: str) -> dict[str, str]:
    # The real values except `key`, which falls back to config.toml's demo value.
    return {name: value for name, value in REAL_PRODUCTION.items() if name != key}


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        ("APPEALBOT_DATABASE_URL", "database.url is SQLite"),
        ("APPEALBOT_REDIS_URL", r"redis.url is empty"),
    ],
)
def test_production_on_sqlite_or_without_redis_needs_single_instance(dropped: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace(".", "[.]")):
        load(environ=_without(dropped))
    chosen = load(environ={**_without(dropped), "APPEALBOT_APP_SINGLE_INSTANCE": "true"})
    assert chosen.app.env == "production" and chosen.app.single_instance
    assert load(environ=REAL_PRODUCTION).app.single_instance is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[wechat]\nmode = ", "district.toml"),
        ("[wechat]\ncolour = 'red'\n", "unknown key"),
        ("[weixin]\ntoken = 'x'\n", "unknown section"),
        ("[server]\nport = 'high'\n", "server.port"),
    ],
)
def test_broken_config_files(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "district.toml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load(environ={"APPEALBOT_CONFIG": str(config)})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load(environ={"APPEALBOT_CONFIG": str(tmp_path / "nope.toml")})


def test_every_documented_key_is_in_the_shipped_file() -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    for key in ("token", "app_id", "app_secret", "encoding_aes_key", "mode", "api_base", "reply_budget", "url"):
        assert f"\n{key} = " in text
