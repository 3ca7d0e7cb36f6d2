"""deploy/compose.yaml names every process of a deployment, each running a command that exists here.
(No container engine runs on the machines the tests run on: see docs/deploy.md.)"""

import importlib.util
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent.parent
COMPOSE = yaml.safe_load((REPO / "deploy/compose.yaml").read_text())


def test_every_process_of_a_deployment_is_a_service():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "watcher", "websockify", "nginx"} <= set(services)
    assert services["watcher"]["deploy"]["replicas"] >= 2 and services["web"]["deploy"]["replicas"] >= 2


def test_the_webvirt_services_run_commands_of_this_repository():
    image = COMPOSE["x-webvirt"]
    assert (REPO / image["build"]["context"].replace("..", ".") / image["build"]["dockerfile"]).exists()
    commands = {name: service.get("command") for name, service in COMPOSE["services"].items() if "build" in service}
    assert commands["watcher"] == ["python", "manage.py", "watch_hosts"]
    assert (REPO / "webvirt/guests/management/commands/watch_hosts.py").exists()
    assert commands["worker"][:4] == ["celery", "-A", "webvirt", "worker"]
    assert commands["beat"][:4] == ["celery", "-A", "webvirt", "beat"]
    assert importlib.util.find_spec(commands["websockify"][2]) is not None  # python -m <module>


def test_the_nginx_service_mounts_files_that_exist():
    mounts = COMPOSE["services"]["nginx"]["volumes"]
    assert "./nginx/compose.conf:/etc/nginx/conf.d/default.conf:ro" in mounts
    assert (REPO / "deploy/nginx/compose.conf").exists()
