"""Structure of the production topology in docker/ (no Docker engine here: the files are read,
not run). Services, non-root users, health checks, secrets only by reference."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DOCKER = ROOT / "docker"
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|KEY", re.IGNORECASE)
REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+(:[-?][^}]*)?\}$")


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = load("compose.yml")
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_the_topology_has_every_service(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "redis", "actions", "backoffice", "proxy"} <= set(services)
    rasa = [name for name, svc in services.items() if "bot.dialogue.serve" in str(svc.get("command"))]
    assert len(rasa) >= 2, "two or more Rasa replicas"
    for name in rasa:
        assert "docker/endpoints.prod.yml" in str(services[name]["command"])


@pytest.mark.parametrize("name", ["postgres", "redis", "actions", "backoffice", "proxy", "rasa1", "rasa2"])
def test_every_service_runs_as_a_non_root_user_with_a_health_check(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    user = str(service.get("user", ""))
    assert user and user.split(":")[0] not in ("root", "0"), f"{name} must set a non-root user"
    check = service.get("healthcheck") or {}
    assert check.get("test") and not check.get("disable"), f"{name} needs a health check"


def test_the_image_is_non_root_and_checks_its_health() -> None:
    lines = [line.strip() for line in (DOCKER / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and all(u.split(":")[0] not in ("root", "0") for u in users)
    assert any(line.startswith("HEALTHCHECK") for line in lines)


def test_no_secret_is_written_into_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in env_of(service).items():
            if SECRET_NAME.search(key):
                assert REFERENCE.match(value), f"{name}.{key} must reference the environment, not hold a value"
            # credentials inside URLs are references too
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert REFERENCE.match(password), f"{name}.{key} has a literal password"
        assert "env_file" in service or name in ("postgres", "redis", "proxy")


def test_only_the_proxy_publishes_a_port(services: dict[str, dict[str, Any]]) -> None:
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"proxy"}


def test_production_endpoints_share_trackers_and_locks() -> None:
    prod = load("endpoints.prod.yml")
    dev = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    assert prod["tracker_store"]["type"] == dev["tracker_store"]["type"]
    assert prod["tracker_store"]["dialect"] == "postgresql"
    assert prod["lock_store"]["type"] == "bot.dialogue.lock_store.AtomicRedisLockStore"  # not Rasa's racy "redis"
    assert REFERENCE.match(str(prod["tracker_store"]["password"]))
    assert prod["action_endpoint"]["url"].startswith("http://actions:")
    assert (prod.get("event_broker") or {}).get("type") == (dev.get("event_broker") or {}).get("type")


def test_nginx_spreads_webhooks_over_the_replicas_and_hides_the_rasa_api(
    services: dict[str, dict[str, Any]],
) -> None:
    conf = (DOCKER / "nginx.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream rasa \{(.*?)\}", conf, re.S)
    assert upstream is not None
    replicas = re.findall(r"server (\w+):5005", upstream.group(1))
    assert len(replicas) >= 2 and set(replicas) <= set(services)
    assert "location /webhooks/" in conf
    assert not re.search(r"location\s+[^{]*(conversations|/model|/status)", conf)
