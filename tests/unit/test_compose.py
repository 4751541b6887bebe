"""docker-compose.yml: every server gets each secret it reads, the same one in every container (a container
that made up its own would reject the others' signatures and tokens), and Redis asks for the password they use."""
import re
import shutil
import subprocess

import pytest
import yaml

from bot.settings import ENV_REDIS_URL, ROOT, SERVER_SECRETS

COMPOSE = ROOT / "docker-compose.yml"
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]+\}")  # ${NAME:?message}: compose refuses to start without it


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def server_of(service: dict) -> str:
    command = service.get("command") or []
    found = re.search(r"python -m bot (\w+)\W*$", " ".join(command) if isinstance(command, list) else command)
    return found.group(1) if found else ""


def bot_services() -> dict:
    return {name: service for name, service in services().items() if server_of(service)}


def rasa_replicas() -> dict:
    return {name: s for name, s in bot_services().items() if server_of(s) == "rasa"}


def test_every_server_is_in_the_compose_file_and_rasa_twice():
    assert {server_of(s) for s in bot_services().values()} == set(SERVER_SECRETS)
    assert sorted(rasa_replicas()) == ["rasa-1", "rasa-2"]


@pytest.mark.parametrize("name", sorted(bot_services()))
def test_each_server_gets_every_secret_it_reads_from_one_required_variable(name):
    service = bot_services()[name]
    env = service.get("environment") or {}
    for secret in SERVER_SECRETS[server_of(service)]:
        value = str(env.get(secret, ""))
        assert REQUIRED.fullmatch(value) and REQUIRED.fullmatch(value).group(1) == secret, (name, secret, value)


def test_all_servers_share_one_redis_url_with_the_password_redis_asks_for():
    urls = {name: (s.get("environment") or {}).get(ENV_REDIS_URL) for name, s in bot_services().items()}
    assert len(set(urls.values())) == 1 and None not in urls.values(), urls
    url = next(iter(urls.values()))
    password = re.fullmatch(r"redis://:\$\{(\w+)[^}]*\}@redis:6379/0", url)
    assert password, url
    redis = services()["redis"]
    assert str(redis["environment"]["REDISCLI_AUTH"]).startswith("${" + password.group(1))
    command = " ".join(redis["command"])
    assert 'requirepass "$$REDISCLI_AUTH"' in command and "redis-server -" in command  # on stdin, not in `ps`


@pytest.mark.parametrize("name", ["rasa-1", "rasa-2"])
def test_demo_mode_is_off_in_containers(name):
    rasa = bot_services()[name]
    assert str(rasa["environment"].get("DEMO_MODE", "0")).replace("${DEMO_MODE:-", "").rstrip("}") == "0"


def test_both_replicas_are_one_service_definition_sharing_models_and_secrets():
    first, second = rasa_replicas().values()
    assert first == second  # the same command, environment (secrets, stores), volumes and health check
    assert "models:/app/models" in first["volumes"]
    assert "models:/app/models" in services()["console"]["volumes"]  # where an activation puts the model


def test_the_console_loads_activated_models_into_both_replicas():
    env = services()["console"]["environment"]
    replicas = env["RASA_REPLICAS"].removeprefix("${RASA_REPLICAS:-").rstrip("}").split(",")
    assert sorted(replicas) == [f"http://{name}:5005" for name in sorted(rasa_replicas())]


def test_nothing_but_nginx_is_published():
    published = {name for name, service in services().items() if service.get("ports")}
    assert published == {"nginx"}
    assert not any(service.get("network_mode") == "host" for service in services().values())


def test_every_service_has_a_health_check_and_a_restart_policy():
    for name, service in services().items():
        assert service.get("healthcheck", {}).get("test"), name
        assert service.get("restart") in ("always", "unless-stopped", "on-failure"), name


def test_redis_keeps_an_append_only_file_on_a_volume():
    redis = services()["redis"]
    assert "--appendonly yes" in " ".join(redis["command"]) and "redis-data:/data" in redis["volumes"]


def test_nginx_mounts_the_config_rendered_from_the_clusters_template():
    from bot.cluster import COMPOSE_NGINX, compose_nginx_config

    nginx = services()["nginx"]
    mounted = [v for v in nginx["volumes"] if v.startswith("./cluster/")]
    assert mounted == [f"./cluster/{COMPOSE_NGINX.name}:/etc/nginx/shopbot.conf:ro"]
    assert nginx["command"] == ["nginx", "-c", "/etc/nginx/shopbot.conf"]
    assert COMPOSE_NGINX.read_text() == compose_nginx_config(), \
        "cluster/nginx.compose.conf is stale: run `python -m bot cluster --compose-nginx`"
    for name in rasa_replicas():
        assert f"server {name}:5005" in COMPOSE_NGINX.read_text()


def test_every_variable_compose_reads_is_documented_in_env_example():
    documented = set(re.findall(r"^# ([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    read = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    assert read and read <= documented, sorted(read - documented)


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is not installed")
def test_compose_accepts_the_file_with_the_three_required_secrets(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "IDENTITY_SECRET": "x", "RASA_TOKEN": "y", "CONSOLE_ADMIN_PASSWORD": "z"}
    run = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    del env["IDENTITY_SECRET"]
    refused = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "IDENTITY_SECRET" in refused.stderr


@pytest.mark.parametrize("server", sorted(SERVER_SECRETS))
def test_a_server_run_alone_refuses_to_make_up_its_own_secrets(server, monkeypatch, capsys):
    """One container per server: a secret it made up would match no other container's."""
    from bot import __main__

    execs = []
    monkeypatch.setattr(__main__.os, "execvpe", lambda *args: execs.append(args))
    for secret in SERVER_SECRETS[server]:
        monkeypatch.delenv(secret, raising=False)
    assert __main__.main([server]) == 2 and not execs
    assert SERVER_SECRETS[server][0] in capsys.readouterr().err


def test_the_image_runs_numpy_single_threaded_as_make_run_does():
    """The containers' servers are not children of the Stack, so the image sets what child_environment sets."""
    from bot.settings import Settings, child_environment

    wanted = child_environment(Settings()).get("OPENBLAS_NUM_THREADS")
    instructions = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()  # continued lines joined
    env = " ".join(line for line in instructions if line.startswith("ENV "))
    assert wanted == "1" and re.search(r"\bOPENBLAS_NUM_THREADS=1\b", env)
