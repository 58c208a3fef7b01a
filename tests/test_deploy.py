"""deploy/: what can be checked of the compose deployment without a container engine (none
runs on the project's machines): its shape, its healthchecks, and that no secret has a default."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text("utf-8"))


def test_every_long_running_service_has_a_healthcheck_and_waits_for_healthy_ones():
    services = _compose()["services"]
    running = {name: s for name, s in services.items() if "profiles" not in s}
    assert set(running) == {"postgres", "etcd", "minio", "milvus", "langzhong", "proxy"}
    for name, service in running.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for needed, condition in (service.get("depends_on") or {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} → {needed}"


def test_no_credential_has_a_default_and_minio_is_never_minioadmin():
    text = (DEPLOY / "docker-compose.yml").read_text("utf-8")
    assert "minioadmin" not in text
    for secret in ("PG_PASSWORD", "MILVUS_PASSWORD", "MINIO_USER", "MINIO_PASSWORD"):
        uses = re.findall(rf"\$\{{LANGZHONG_{secret}([^}}]*)\}}", text)
        assert uses and all(use.startswith(":?") for use in uses), secret
    minio = _compose()["services"]["minio"]["environment"]
    assert set(minio) == {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}


def test_the_servers_sign_in_to_milvus_and_the_admin_service_runs_migrate_inside():
    compose = _compose()
    milvus_auth = yaml.safe_load(compose["configs"]["milvus-auth"]["content"])
    assert milvus_auth["common"]["security"]["authorizationEnabled"] is True
    for name in ("langzhong", "admin"):
        env = compose["services"][name]["environment"]
        assert env["LANGZHONG_MILVUS_TOKEN"].startswith("root:${LANGZHONG_MILVUS_PASSWORD")
        assert env["LANGZHONG_ENGINE"] == "milvus"
    assert compose["services"]["admin"]["command"][:2] == ["langzhong", "migrate"]


def test_the_proxy_limits_searches_for_all_servers_and_keeps_metrics_inside():
    env = _compose()["services"]["langzhong"]["environment"]
    assert env["LANGZHONG_RATE_LIMIT"] == "0"  # the proxy counts, not each worker
    for conf in ("nginx.conf", "nginx-tls.conf"):
        text = (DEPLOY / conf).read_text("utf-8")
        assert "limit_req_zone $binary_remote_addr zone=searches" in text
        assert re.search(r"location ~ \^/\(search\|api/search\|feedback\)\$ \{\s+limit_req", text)
        assert "location = /metrics { return 404; }" in text
    assert "listen 443 ssl" in (DEPLOY / "nginx-tls.conf").read_text("utf-8")
