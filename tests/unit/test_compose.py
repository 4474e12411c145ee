"""docker-compose.yml and docs/run-on-signal.md: they say the same thing, and the app agrees.

There is no Docker in CI, so this is the equivalent of `docker compose config`:
the file is parsed with PyYAML, its `${VAR}` references are interpolated the way
Compose does, and the holdfast container's environment is fed to the app's own
settings loader. The docs are checked against the file: the `.env` keys, the
service names in their commands, and the port.
"""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.config import Settings, env_name, load_settings
from bot.transports.signal.service import CHECKED_VERSION, ServiceAddress

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCS = ROOT / "docs" / "run-on-signal.md"
SIGNAL_CLI_DATA = "/home/.local/share/signal-cli"
#: signal-cli-rest-api listens on $PORT, 8080 unless set.
SIGNAL_CLI_DEFAULT_PORT = 8080

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:\?|\?|:-|-)(?P<arg>[^}]*))?\}")

DOTENV = {
    "POSTGRES_PASSWORD": "correct-horse-battery-staple",
    "HOLDFAST_SIGNAL_PHONE_NUMBER": "+15550000001",
    "HOLDFAST_SECURITY_SECRET_KEY": secrets.token_urlsafe(32),
}


class MissingVariable(KeyError):
    """A `${NAME:?message}` reference with NAME unset: `docker compose` refuses to start."""


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable interpolation, for the forms the file uses."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        if op in (":?", "?") and (current is None or (op == ":?" and not current)):
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and (current is None or (op == ":-" and not current)):
            return arg
        return current or ""

    return _VAR.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def resolved(node: Any, env: Mapping[str, str]) -> Any:
    """The whole document with every string interpolated."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolved(item, env) for item in node]
    if isinstance(node, dict):
        return {key: resolved(value, env) for key, value in node.items()}
    return node


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment, whether written as a mapping or a list of NAME=value."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    return resolved(raw, DOTENV)


@pytest.fixture(scope="module")
def docs() -> str:
    return DOCS.read_text(encoding="utf-8")


def signal_cli_port(compose: dict[str, Any]) -> int:
    return int(environment(compose["services"]["signal-cli"]).get("PORT", SIGNAL_CLI_DEFAULT_PORT))


# ---- the compose file ----------------------------------------------------------------


def test_services_ingest_workers_signal_cli_and_postgres(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"holdfast", "worker", "signal-cli", "postgres"}


def test_signal_cli_runs_in_json_rpc_mode_with_its_data_on_a_volume(
    compose: dict[str, Any],
) -> None:
    signal_cli = compose["services"]["signal-cli"]
    assert signal_cli["image"].startswith("bbernhard/signal-cli-rest-api:")
    env = environment(signal_cli)
    assert env["MODE"] == "json-rpc"
    # Trusting changed safety numbers automatically would send alerts to seized phones.
    assert env.get("JSON_RPC_TRUST_NEW_IDENTITIES", "on-first-use") != "always"
    mounts = dict(reversed(v.split(":", 2)[:2]) for v in signal_cli["volumes"])
    volume = mounts[SIGNAL_CLI_DATA]
    assert volume in compose["volumes"]  # a named volume, not a path in the image


def test_signal_cli_image_is_pinned_to_the_checked_version(
    raw: dict[str, Any], compose: dict[str, Any], docs: str
) -> None:
    image = compose["services"]["signal-cli"]["image"]
    tag = image.rpartition(":")[2]
    assert tag == str(CHECKED_VERSION)  # not "latest": what was checked is what runs
    assert "latest" not in raw["services"]["signal-cli"]["image"]
    assert f"SIGNAL_CLI_REST_API_VERSION={CHECKED_VERSION}" in docs
    assert f"signal-cli-rest-api:{CHECKED_VERSION}" in docs


def test_postgres_keeps_its_data_on_a_volume(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data" and volume in compose["volumes"]


def test_signal_cli_is_not_published_to_the_host(compose: dict[str, Any]) -> None:
    # signal-cli-rest-api has no authentication and holds the account's keys.
    for name in ("signal-cli", "postgres"):
        assert not compose["services"][name].get("ports"), name


def test_holdfast_starts_after_healthy_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for bot in ("holdfast", "worker"):
        depends = services[bot]["depends_on"]
        for name in ("signal-cli", "postgres"):
            assert depends[name]["condition"] == "service_healthy"
            assert services[name]["healthcheck"]["test"]


def test_holdfast_runs_the_installed_holdfast_command(compose: dict[str, Any]) -> None:
    holdfast, worker = compose["services"]["holdfast"], compose["services"]["worker"]
    assert holdfast["build"] == worker["build"] == "." and (ROOT / "Dockerfile").exists()
    # One ingest (receiving) and two workers (ticking and sending), on one database.
    assert holdfast["command"] == ["holdfast", "run", "--role", "ingest"]
    assert worker["command"] == ["holdfast", "run", "--role", "worker"]
    assert worker["deploy"]["replicas"] == 2
    assert environment(worker) == environment(holdfast)
    assert environment(holdfast)["HOLDFAST_OPS_LISTEN"].endswith(":9464")
    assert holdfast["ports"] == ["127.0.0.1:9464:9464"]  # health on this host only
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["holdfast"] == "bot.cli:main"


# ---- the app reads what the file sets ---------------------------------------------------


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ("database.url", "HOLDFAST_DATABASE_URL"),
        ("signal.service", "HOLDFAST_SIGNAL_SERVICE"),
        ("signal.phone_number", "HOLDFAST_SIGNAL_PHONE_NUMBER"),
        ("security.secret_key", "HOLDFAST_SECURITY_SECRET_KEY"),
    ],
)
def test_holdfast_environment_names_settings_the_app_reads(
    compose: dict[str, Any], key: str, variable: str
) -> None:
    assert env_name(key) == variable
    assert environment(compose["services"]["holdfast"])[variable]


def app_settings(
    compose: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.chdir(tmp_path)  # no stray holdfast.toml
    return load_settings(env=environment(compose["services"]["holdfast"]))


def test_the_app_accepts_the_holdfast_environment(
    compose: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = app_settings(compose, tmp_path, monkeypatch)
    assert settings.signal.phone_number == DOTENV["HOLDFAST_SIGNAL_PHONE_NUMBER"]
    assert settings.security.secret_key == DOTENV["HOLDFAST_SECURITY_SECRET_KEY"]
    assert settings.telegram.token == ""  # optional: Telegram stays off unless set


def test_database_url_points_at_the_postgres_service(
    compose: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = urlsplit(app_settings(compose, tmp_path, monkeypatch).database.url)
    postgres = environment(compose["services"]["postgres"])
    assert url.scheme == "postgresql+asyncpg"
    assert url.hostname in compose["services"]
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"] == DOTENV["POSTGRES_PASSWORD"]
    assert url.path == "/" + postgres["POSTGRES_DB"]


def test_signal_service_is_the_signal_cli_container_and_its_port(
    compose: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = ServiceAddress.parse(app_settings(compose, tmp_path, monkeypatch).signal.service)
    address = urlsplit(service.http_url())
    assert not service.https  # plain HTTP, inside the compose network only
    assert address.hostname == "signal-cli"
    port = signal_cli_port(compose)
    assert address.port == port
    health = " ".join(compose["services"]["signal-cli"]["healthcheck"]["test"])
    assert f"localhost:{port}/v1/health" in health


def test_required_variables_stop_compose_when_missing(raw: dict[str, Any]) -> None:
    for name in DOTENV:
        with pytest.raises(MissingVariable, match=name):
            resolved(raw, {k: v for k, v in DOTENV.items() if k != name})


# ---- the docs match the file ---------------------------------------------------------


def referenced_variables() -> set[str]:
    return {m["name"] for m in _VAR.finditer(COMPOSE.read_text(encoding="utf-8"))}


def test_docs_dotenv_lists_every_variable_the_compose_file_reads(docs: str) -> None:
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", docs, re.MULTILINE))
    assert referenced_variables() <= documented
    assert set(DOTENV) <= documented


def test_docs_name_the_config_keys_and_their_value_in_the_compose_file(
    docs: str, compose: dict[str, Any]
) -> None:
    for key in ("signal.service", "signal.phone_number"):
        assert f"`{key}`" in docs and f"`{env_name(key)}`" in docs
    service = environment(compose["services"]["holdfast"])["HOLDFAST_SIGNAL_SERVICE"]
    assert f"`{service}`" in docs
    assert "json-rpc" in docs and "MODE=json-rpc" in docs
    for volume in compose["volumes"]:
        assert f"`{volume}`" in docs
    assert SIGNAL_CLI_DATA in docs


def test_docs_commands_use_the_services_and_port_of_the_compose_file(
    docs: str, compose: dict[str, Any]
) -> None:
    assert re.search(r"^docker compose up\b", docs, re.MULTILINE)
    commands = re.findall(r"^docker compose (run|exec) (.+)$", docs, re.MULTILINE)
    assert commands
    for _verb, rest in commands:
        words = rest.split()
        positional = [w for i, w in enumerate(words) if not w.startswith("-")
                      and not (i and words[i - 1] in ("-e", "-p"))]  # fmt: skip
        assert positional[0] in compose["services"], rest
    port = signal_cli_port(compose)
    published = re.findall(r"-p 127\.0\.0\.1:(\d+):(\d+) signal-cli", docs)
    assert published and all(int(inside) == port for _, inside in published)
    inside_urls = re.findall(r"http://localhost:(\d+)/", docs)
    assert inside_urls and all(int(p) == port for p in inside_urls)


def test_readme_points_to_the_signal_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/run-on-signal.md" in readme and "docker compose up" in readme
