"""Settings: defaults, the example file, env overrides, and every validation rule."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import (
    ConfigError,
    ConfigProblem,
    Settings,
    check_config,
    default_config_path,
    env_name,
    load_settings,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
GOOD_KEY = "vT8-qW2zLr5Xn0Bc7Hy4Km1Sd9Fg6Jp3Ue_Ai"
GOOD_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stray ./holdfast.toml from the checkout may leak into a test."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "holdfast.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, toml: str = "", env: dict[str, str] | None = None) -> dict:
    """Load and return {key: message} of every problem (fails if loading succeeded)."""
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, toml), env=env or {})
    return {p.key: p.message for p in caught.value.problems}


# --- loading ---------------------------------------------------------------------------


def test_defaults_without_a_file() -> None:
    settings = load_settings(env={})
    assert settings == Settings()
    assert settings.source == "defaults"
    assert settings.database.url == "sqlite+aiosqlite:///holdfast.db"
    assert settings.checkins.grace == timedelta(minutes=15)
    assert settings.checkins.max_timer == timedelta(days=7)
    assert settings.scheduler.tick == timedelta(seconds=1)
    assert settings.security.invite_ttl == timedelta(hours=24)
    assert not settings.telegram.enabled
    assert not settings.signal.enabled


def test_example_file_loads_to_the_defaults() -> None:
    settings = load_settings(EXAMPLE, env={})
    assert settings == Settings(source=str(EXAMPLE))


def test_example_file_documents_every_key_with_its_env_var() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    for section in dataclasses.fields(Settings):
        if section.name == "source":
            continue
        keys = [f.name for f in dataclasses.fields(section.default_factory())]
        assert list(data[section.name]) == keys
        for key in keys:
            assert env_name(f"{section.name}.{key}") in text


def test_example_leaves_secrets_empty() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert data["telegram"]["token"] == ""
    assert data["telegram"]["secret_token"] == ""
    assert data["security"]["secret_key"] == ""


def test_file_values_are_typed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        [database]
        url = "postgresql+asyncpg://holdfast@db/holdfast"
        [telegram]
        token = "{GOOD_TOKEN}"
        base_url = "http://127.0.0.1:8081/bot"
        mode = "webhook"
        webhook_url = "https://bot.example.org/tg"
        listen = "0.0.0.0"
        port = 8080
        secret_token = "abc_DEF-123"
        pacing = false
        [signal]
        service = "127.0.0.1:8080"
        phone_number = "+4915112345678"
        [checkins]
        response_window = "1h"
        grace = "1h30m"
        level2_after = "2h"
        min_timer = "10m"
        max_timer = "2d"
        default_timezone = "America/Bogota"
        [scheduler]
        tick = "60s"
        [security]
        secret_key = "{GOOD_KEY}"
        retention = "1d"
        invite_ttl = "30d"
        """,
    )
    settings = load_settings(path, env={})
    assert settings.source == str(path)
    assert settings.telegram.enabled and settings.signal.enabled
    assert settings.telegram.port == 8080 and settings.telegram.pacing is False
    assert settings.checkins.grace == timedelta(hours=1, minutes=30)
    assert settings.checkins.default_timezone == "America/Bogota"
    assert settings.scheduler.tick == timedelta(seconds=60)
    assert settings.security.invite_ttl == timedelta(days=30)


def test_env_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[checkins]\ngrace = "20m"\n[telegram]\nport = 8443\n')
    env = {
        "HOLDFAST_CHECKINS_GRACE": "45m",
        "HOLDFAST_TELEGRAM_PORT": "9000",
        "HOLDFAST_TELEGRAM_TOKEN": GOOD_TOKEN,
        "HOLDFAST_DATABASE_URL": "postgresql+asyncpg://h/db",
        "HOLDFAST_TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
    }
    settings = load_settings(path, env=env)
    assert settings.checkins.grace == timedelta(minutes=45)
    assert settings.telegram.port == 9000
    assert settings.telegram.token == GOOD_TOKEN
    assert settings.telegram.base_url == "http://127.0.0.1:8081/bot"
    assert settings.database.url == "postgresql+asyncpg://h/db"


def test_env_wins_even_over_a_bad_file_value(tmp_path: Path) -> None:
    path = write(tmp_path, '[checkins]\ngrace = "15x"\n')
    settings = load_settings(path, env={"HOLDFAST_CHECKINS_GRACE": "20m"})
    assert settings.checkins.grace == timedelta(minutes=20)


@pytest.mark.parametrize(
    ("word", "expected"),
    [("true", True), ("1", True), ("YES", True), ("on", True)]
    + [("false", False), ("0", False), ("no", False), (" Off ", False)],
)
def test_env_bool_words(word: str, expected: bool) -> None:
    settings = load_settings(env={"HOLDFAST_TELEGRAM_PACING": word})
    assert settings.telegram.pacing is expected


def test_unrelated_holdfast_variables_are_ignored() -> None:
    env = {"HOLDFAST_TEST_DATABASE_URL": "postgresql://x", "HOLDFAST_LOG_LEVEL": "debug"}
    assert load_settings(env=env) == Settings()


def test_secrets_in_the_file_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path, f'[telegram]\ntoken = "{GOOD_TOKEN}"\n[security]\nsecret_key = "{GOOD_KEY}"\n'
    )
    assert check_config(path, env={}) == []


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.telegram.token = "x"  # type: ignore[misc]


# --- finding the file ------------------------------------------------------------------


def test_default_path_from_holdfast_config(tmp_path: Path) -> None:
    assert default_config_path({"HOLDFAST_CONFIG": "/etc/holdfast.toml"}) == Path(
        "/etc/holdfast.toml"
    )


def test_default_path_is_local_file_when_present(tmp_path: Path) -> None:
    assert default_config_path({}) is None
    write(tmp_path, "")
    assert default_config_path({}) == Path("holdfast.toml")


def test_load_uses_holdfast_config(tmp_path: Path) -> None:
    path = write(tmp_path, '[checkins]\ngrace = "20m"\n', name="elsewhere.toml")
    settings = load_settings(env={"HOLDFAST_CONFIG": str(path)})
    assert settings.checkins.grace == timedelta(minutes=20)
    assert settings.source == str(path)


def test_load_uses_local_file(tmp_path: Path) -> None:
    write(tmp_path, '[checkins]\ngrace = "25m"\n')
    assert load_settings(env={}).checkins.grace == timedelta(minutes=25)


def test_missing_explicit_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    found = check_config(missing, env={})
    assert [p.key for p in found] == ["config"]
    assert str(missing) in found[0].message and "does not exist" in found[0].message


def test_missing_file_from_holdfast_config_names_the_variable(tmp_path: Path) -> None:
    found = check_config(env={"HOLDFAST_CONFIG": str(tmp_path / "nope.toml")})
    assert found[0].key == "config"
    assert "(from HOLDFAST_CONFIG)" in found[0].message


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    found = problems(tmp_path, "[checkins]\ngrace = 15m\n")
    assert list(found) == ["config"]
    assert "line 2" in found["config"] and "column" in found["config"]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "holdfast.toml"
    path.write_bytes(b'[checkins]\ngrace = "\xff"\n')
    assert "UTF-8" in check_config(path, env={})[0].message


# --- unknown names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "env", "key", "fragment"),
    [
        ("[telegrm]\n", {}, "telegrm", "did you mean [telegram]?"),
        ("[telegram]\ntokn = 'x'\n", {}, "telegram.tokn", 'did you mean "token"?'),
        ("[checkins]\ngrace_period = '1m'\n", {}, "checkins.grace_period", '"grace"'),
        ("telegram = 1\n", {}, "telegram", "[telegram] on its own line"),
        ("", {"HOLDFAST_TELEGRAM_TOKN": "x"}, "telegram.tokn", "HOLDFAST_TELEGRAM_TOKEN?"),
        ("", {"HOLDFAST_TELEGRM_TOKEN": "x"}, "telegrm.token", "HOLDFAST_TELEGRAM_TOKEN?"),
        ("", {"HOLDFAST_SIGNAL_PHONE": "x"}, "signal.phone", "HOLDFAST_SIGNAL_PHONE_NUMBER?"),
    ],
)
def test_unknown_names_get_a_suggestion(
    tmp_path: Path, toml: str, env: dict[str, str], key: str, fragment: str
) -> None:
    found = problems(tmp_path, toml, env)
    assert key in found, found
    assert fragment in found[key]


# --- one rule, one problem -------------------------------------------------------------

# (file text, env, key that must be reported, fragment of its message)
INVALID = [
    # types
    ("", {"HOLDFAST_TELEGRAM_PORT": "abc"}, "telegram.port", "whole number"),
    ("[telegram]\nport = '8443'\n", {}, "telegram.port", "without quotes"),
    ("[telegram]\npacing = 'yes'\n", {}, "telegram.pacing", "true or false"),
    ("", {"HOLDFAST_TELEGRAM_PACING": "maybe"}, "telegram.pacing", "yes/no"),
    ("[telegram]\nlisten = 127\n", {}, "telegram.listen", 'listen = "…"'),
    ("[checkins]\ngrace = 15\n", {}, "checkins.grace", 'grace = "15m"'),
    ("[scheduler]\ntick = 1\n", {}, "scheduler.tick", 'tick = "1s"'),
    ("[signal]\nphone_number = +4915112345678\n", {}, "signal.phone_number", "quotes"),
    # database
    ("", {"HOLDFAST_DATABASE_URL": "postgresql://h/db"}, "database.url", "postgresql+asyncpg://"),
    ("", {"HOLDFAST_DATABASE_URL": "postgres://h/db"}, "database.url", "postgresql+asyncpg://"),
    ("", {"HOLDFAST_DATABASE_URL": "sqlite:///x.db"}, "database.url", "sqlite+aiosqlite://"),
    ("", {"HOLDFAST_DATABASE_URL": "mysql+aiomysql://h/d"}, "database.url", "supported drivers"),
    ("", {"HOLDFAST_DATABASE_URL": "holdfast.db"}, "database.url", "postgresql+asyncpg://"),
    ("", {"HOLDFAST_DATABASE_URL": ""}, "database.url", "is empty"),
    # telegram
    ("", {"HOLDFAST_TELEGRAM_MODE": "webhooks"}, "telegram.mode", 'did you mean "webhook"'),
    ("", {"HOLDFAST_TELEGRAM_MODE": "push"}, "telegram.mode", '"polling" or "webhook"'),
    ("", {"HOLDFAST_TELEGRAM_MODE": "webhook"}, "telegram.webhook_url", "required"),
    ("", {"HOLDFAST_TELEGRAM_MODE": "webhook"}, "telegram.secret_token", "token_urlsafe"),
    ("", {"HOLDFAST_TELEGRAM_WEBHOOK_URL": "http://b.example/x"}, "telegram.webhook_url", "https"),
    ("", {"HOLDFAST_TELEGRAM_BASE_URL": "ftp://b.example"}, "telegram.base_url", "http://"),
    ("", {"HOLDFAST_TELEGRAM_BASE_URL": "127.0.0.1:8081"}, "telegram.base_url", "http://"),
    ("", {"HOLDFAST_TELEGRAM_BASE_URL": "http:///bot"}, "telegram.base_url", "http://"),
    ("", {"HOLDFAST_TELEGRAM_WEBHOOK_URL": "https://"}, "telegram.webhook_url", "https://"),
    ("", {"HOLDFAST_TELEGRAM_TOKEN": "notatoken"}, "telegram.token", "@BotFather"),
    ("", {"HOLDFAST_TELEGRAM_TOKEN": "123: abc"}, "telegram.token", "bot token"),
    ("", {"HOLDFAST_TELEGRAM_SECRET_TOKEN": "a b"}, "telegram.secret_token", "letters, digits"),
    ("", {"HOLDFAST_TELEGRAM_SECRET_TOKEN": "a" * 257}, "telegram.secret_token", "256"),
    ("", {"HOLDFAST_TELEGRAM_LISTEN": " "}, "telegram.listen", "127.0.0.1"),
    ("", {"HOLDFAST_TELEGRAM_PORT": "0"}, "telegram.port", "1 to 65535"),
    ("", {"HOLDFAST_TELEGRAM_PORT": "70000"}, "telegram.port", "1 to 65535"),
    # signal
    ("", {"HOLDFAST_SIGNAL_SERVICE": "localhost"}, "signal.service", "host:port"),
    ("", {"HOLDFAST_SIGNAL_SERVICE": "http://h:8080"}, "signal.service", "no http://"),
    ("", {"HOLDFAST_SIGNAL_SERVICE": "h:99999"}, "signal.service", "1 to 65535"),
    ("", {"HOLDFAST_SIGNAL_PHONE_NUMBER": "0151 1234567"}, "signal.phone_number", "E.164"),
    ("", {"HOLDFAST_SIGNAL_PHONE_NUMBER": "+123"}, "signal.phone_number", "E.164"),
    ("", {"HOLDFAST_SIGNAL_SERVICE": "h:8080"}, "signal.phone_number", "required"),
    ("", {"HOLDFAST_SIGNAL_PHONE_NUMBER": "+4915112345678"}, "signal.service", "host:port"),
    # durations
    ("", {"HOLDFAST_CHECKINS_GRACE": "15x"}, "checkins.grace", "90s, 45m, 3h, 2d or 1h30m"),
    ("", {"HOLDFAST_CHECKINS_GRACE": "0s"}, "checkins.grace", "not a duration"),
    ("", {"HOLDFAST_CHECKINS_GRACE": "-5m"}, "checkins.grace", "not a duration"),
    ("", {"HOLDFAST_CHECKINS_GRACE": "30s"}, "checkins.grace", "between 1m and 7d"),
    ("", {"HOLDFAST_CHECKINS_RESPONSE_WINDOW": "8d"}, "checkins.response_window", "1m and 7d"),
    ("", {"HOLDFAST_CHECKINS_LEVEL2_AFTER": "59s"}, "checkins.level2_after", "1m and 7d"),
    ("", {"HOLDFAST_CHECKINS_MAX_TIMER": "4000d"}, "checkins.max_timer", "longer than 3650d"),
    ("", {"HOLDFAST_CHECKINS_MIN_TIMER": "7d"}, "checkins.min_timer", "shorter than"),
    ("", {"HOLDFAST_CHECKINS_MAX_TIMER": "1m"}, "checkins.min_timer", "max_timer (1m)"),
    ("", {"HOLDFAST_SCHEDULER_TICK": "2m"}, "scheduler.tick", "between 1s and 1m"),
    ("", {"HOLDFAST_SECURITY_RETENTION": "12h"}, "security.retention", "at least 1d"),
    ("", {"HOLDFAST_SECURITY_INVITE_TTL": "4m"}, "security.invite_ttl", "between 5m and 30d"),
    ("", {"HOLDFAST_SECURITY_INVITE_TTL": "31d"}, "security.invite_ttl", "between 5m and 30d"),
    # timezone
    (
        "",
        {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": "Mars/Olympus"},
        "checkins.default_timezone",
        "IANA",
    ),
    ("", {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": ""}, "checkins.default_timezone", "is empty"),
    (
        "",
        {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": "/etc/localtime"},
        "checkins.default_timezone",
        "IANA",
    ),
    (
        "",
        {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": "../../etc/passwd"},
        "checkins.default_timezone",
        "IANA",
    ),
    ("", {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": "localtime"}, "checkins.default_timezone", "IANA"),
    ("", {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": "Europe"}, "checkins.default_timezone", "IANA"),
    ("", {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": "UTC "}, "checkins.default_timezone", "IANA"),
    (
        "",
        {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": "europe/berlin"},
        "checkins.default_timezone",
        "did you mean Europe/Berlin?",
    ),
    # security
    ("", {"HOLDFAST_SECURITY_SECRET_KEY": "short"}, "security.secret_key", "token_urlsafe(32)"),
    ("", {"HOLDFAST_SECURITY_SECRET_KEY": "k" * 31}, "security.secret_key", "at least 32"),
    # ops
    ("", {"HOLDFAST_OPS_LISTEN": "9464"}, "ops.listen", "host:port"),
    ("", {"HOLDFAST_OPS_HEARTBEAT_URL": "hc-ping.com/x"}, "ops.heartbeat_url", "http://"),
    ("", {"HOLDFAST_OPS_OPERATOR_CHATS": "telegram:1,12345"}, "ops.operator_chats", '"12345"'),
    ("", {"HOLDFAST_OPS_OPERATOR_CHATS": "irc:#ops"}, "ops.operator_chats", "telegram, signal"),
    ('[ops]\noperator_chats = "telegram:1"\n', {}, "ops.operator_chats", "list of text"),
    ("[ops]\noperator_chats = [1]\n", {}, "ops.operator_chats", "list of text"),
    ("", {"HOLDFAST_OPS_FAILOVER": "2s"}, "ops.failover", "between 5s and 10m"),
    ("", {"HOLDFAST_SECURITY_SECRET_KEY": "k" * 64}, "security.secret_key", "too weak"),
    (
        "",
        {"HOLDFAST_SECURITY_SECRET_KEY": "correct horse battery staple and more words"},
        "security.secret_key",
        "not a phrase",
    ),
]


@pytest.mark.parametrize(("toml", "env", "key", "fragment"), INVALID)
def test_each_rule_reports_its_key(
    tmp_path: Path, toml: str, env: dict[str, str], key: str, fragment: str
) -> None:
    found = problems(tmp_path, toml, env)
    assert key in found, found
    assert fragment in found[key]


@pytest.mark.parametrize(("toml", "env", "key", "fragment"), INVALID)
def test_problem_names_the_env_var_only_when_the_value_came_from_there(
    tmp_path: Path, toml: str, env: dict[str, str], key: str, fragment: str
) -> None:
    found = problems(tmp_path, toml, env)
    variable = env_name(key)
    if variable in env:
        assert found[key].endswith(f"(from {variable})")
    else:
        assert "(from " not in found[key]


@pytest.mark.parametrize(
    "env",
    [
        {
            "HOLDFAST_TELEGRAM_MODE": "webhook",
            "HOLDFAST_TELEGRAM_WEBHOOK_URL": "https://b.example/t",
            "HOLDFAST_TELEGRAM_SECRET_TOKEN": "s3cr3t_-",
        },
        {"HOLDFAST_SIGNAL_SERVICE": "[::1]:8080", "HOLDFAST_SIGNAL_PHONE_NUMBER": "+15555550123"},
        {"HOLDFAST_DATABASE_URL": "sqlite+aiosqlite://"},
        {"HOLDFAST_CHECKINS_DEFAULT_TIMEZONE": "Europe/Berlin"},
        {"HOLDFAST_CHECKINS_GRACE": "1m", "HOLDFAST_CHECKINS_LEVEL2_AFTER": "7d"},
        {"HOLDFAST_CHECKINS_MIN_TIMER": "1m", "HOLDFAST_CHECKINS_MAX_TIMER": "2m"},
        {"HOLDFAST_SCHEDULER_TICK": "1m", "HOLDFAST_SECURITY_INVITE_TTL": "5m"},
        {"HOLDFAST_SECURITY_SECRET_KEY": GOOD_KEY, "HOLDFAST_TELEGRAM_TOKEN": GOOD_TOKEN},
        {"HOLDFAST_OPS_LISTEN": "", "HOLDFAST_OPS_HEARTBEAT_URL": "https://hc-ping.com/u"},
        {"HOLDFAST_OPS_OPERATOR_CHATS": "telegram:-100123, signal:+15555550123"},
    ],
)
def test_valid_edge_values_pass(env: dict[str, str]) -> None:
    assert check_config(env=env) == []


# --- reporting -------------------------------------------------------------------------


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    toml = '[telegram]\nport = "x"\nmode = "pull"\n[checkins]\ngrace = "1"\n[bogus]\n'
    env = {"HOLDFAST_SCHEDULER_TICK": "5m", "HOLDFAST_SECURITY_SECRET_KEY": "short"}
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, toml), env=env)
    keys = {p.key for p in caught.value.problems}
    assert keys == {
        "telegram.port",
        "telegram.mode",
        "checkins.grace",
        "bogus",
        "scheduler.tick",
        "security.secret_key",
    }
    lines = str(caught.value).splitlines()
    assert lines == [f"{p.key}: {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(
    ("toml", "env", "key"),
    [
        (
            "[checkins]\nmin_timer = 'abc'\n",
            {"HOLDFAST_CHECKINS_MAX_TIMER": "1m"},
            "checkins.min_timer",
        ),
        (
            "[signal]\nphone_number = 49151\n",
            {"HOLDFAST_SIGNAL_SERVICE": "h:8080"},
            "signal.phone_number",
        ),
        (
            "[signal]\nservice = 8080\n",
            {"HOLDFAST_SIGNAL_PHONE_NUMBER": "+4915112345678"},
            "signal.service",
        ),
        (
            "[telegram]\nsecret_token = 1\n",
            {"HOLDFAST_TELEGRAM_MODE": "webhook"},
            "telegram.secret_token",
        ),
    ],
)
def test_a_bad_value_is_reported_once_not_again_by_cross_checks(
    tmp_path: Path, toml: str, env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, toml), env=env)
    assert [p.key for p in caught.value.problems].count(key) == 1


def test_check_config_returns_problems_instead_of_raising(tmp_path: Path) -> None:
    path = write(tmp_path, '[checkins]\ngrace = "2s"\n')
    found = check_config(path, env={})
    assert [p.key for p in found] == ["checkins.grace"]
    assert isinstance(found[0], ConfigProblem)


def test_check_config_is_empty_for_a_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, f'[telegram]\ntoken = "{GOOD_TOKEN}"\n[checkins]\ngrace = "20m"\n')
    assert check_config(path, env={}) == []
    assert check_config(EXAMPLE, env={}) == []


SECRETS = {
    "HOLDFAST_TELEGRAM_TOKEN": "98765:tokenSECRETvalue with space",
    "HOLDFAST_TELEGRAM_SECRET_TOKEN": "hookSECRET!!",
    "HOLDFAST_TELEGRAM_WEBHOOK_URL": "http://hook.example/pathSECRET",
    "HOLDFAST_TELEGRAM_BASE_URL": "ftp://user:baseSECRET@h",
    "HOLDFAST_SECURITY_SECRET_KEY": "keySECRET",
    "HOLDFAST_SIGNAL_PHONE_NUMBER": "+49 151 SECRET",
    "HOLDFAST_DATABASE_URL": "postgresql://user:dbSECRET@host/db",
}


def test_secrets_never_appear_in_messages() -> None:
    found = check_config(env=SECRETS)
    assert {p.key for p in found} >= {env_key_of(name) for name in SECRETS}
    text = "\n".join(p.message for p in found)
    assert "SECRET" not in text.replace("SECRET_KEY", "").replace("SECRET_TOKEN", "")


def test_secrets_of_the_wrong_type_are_not_echoed(tmp_path: Path) -> None:
    toml = (
        "[database]\nurl = ['postgresql+asyncpg://u:pw1234@h/db']\n"
        "[signal]\nphone_number = 4915112345678\n[security]\nsecret_key = 1234567\n"
    )
    found = problems(tmp_path, toml)
    assert "pw1234" not in found["database.url"]
    assert "4915112345678" not in found["signal.phone_number"]
    assert "1234567" not in found["security.secret_key"]


def test_syntax_error_does_not_echo_the_line(tmp_path: Path) -> None:
    found = problems(tmp_path, '[telegram]\ntoken = "123:tokenSECRET\n')
    assert "tokenSECRET" not in found["config"]


def env_key_of(name: str) -> str:
    section, _, key = name.removeprefix("HOLDFAST_").lower().partition("_")
    return f"{section}.{key}"


def test_operator_chats_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text('[ops]\noperator_chats = ["telegram:1", "signal:+15555550123"]\n')
    assert load_settings(path, env={}).ops.operator_chats == ("telegram:1", "signal:+15555550123")
    env = {"HOLDFAST_OPS_OPERATOR_CHATS": " telegram:2 , console:ops,"}
    assert load_settings(path, env=env).ops.operator_chats == ("telegram:2", "console:ops")


def test_heartbeat_url_is_never_echoed() -> None:
    found = check_config(env={"HOLDFAST_OPS_HEARTBEAT_URL": "ftp://hc/SECRET-UUID"})
    assert found and all("SECRET" not in str(p) for p in found)


# --- demo mode -------------------------------------------------------------------------


def test_demo_fills_the_unset_durations_with_seconds() -> None:
    c = load_settings(env={"HOLDFAST_CHECKINS_DEMO": "true"}).checkins
    assert c.demo
    assert (c.response_window, c.grace, c.level2_after, c.min_timer) == (
        timedelta(seconds=20), timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=10),
    )  # fmt: skip


def test_demo_never_overrides_a_duration_the_configuration_sets(tmp_path: Path) -> None:
    path = write(tmp_path, '[checkins]\ndemo = true\ngrace = "3s"\nmin_timer = "2m"\n')
    c = load_settings(path, env={"HOLDFAST_CHECKINS_LEVEL2_AFTER": "1s"}).checkins
    assert (c.grace, c.min_timer, c.level2_after) == (
        timedelta(seconds=3), timedelta(minutes=2), timedelta(seconds=1),
    )  # fmt: skip
    assert c.response_window == timedelta(seconds=20)


def test_outside_demo_the_one_minute_floor_stays(tmp_path: Path) -> None:
    found = problems(tmp_path, '[checkins]\ngrace = "1s"\nmin_timer = "30s"\n')
    assert "between 1m and 7d" in found["checkins.grace"]
    assert "checkins.min_timer" in found and "at least 1m" in found["checkins.min_timer"]
    demo = load_settings(
        write(tmp_path, '[checkins]\ndemo = true\ngrace = "1s"\nmin_timer = "1s"\n'), env={}
    )
    assert demo.checkins.grace == demo.checkins.min_timer == timedelta(seconds=1)
