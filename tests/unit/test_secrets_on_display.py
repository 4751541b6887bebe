"""Secrets stay off display: not on a command line (`ps` shows it to every user), not in the start banner, and
runtime files (databases, secrets, logs) readable by the bot's own user only."""
import os
import stat
import subprocess
import sys

import pytest

from bot.identity import sign
from bot.runner import Stack, commands
from bot.settings import ROOT, Settings

SECRETS = {"rasa_token": "-rasa-token-for-tests", "identity_secret": "identity-secret-for-tests",
           "embedded_redis_password": "redis-password-for-tests"}


def test_the_rasa_token_is_not_on_any_command_line():
    settings = Settings(**SECRETS)
    for key, (_name, argv, _env, _health) in commands(settings).items():
        shown = " ".join(argv)
        assert all(secret not in shown for secret in SECRETS.values()), key
    assert commands(settings)["rasa"][2]["RASA_TOKEN"] == SECRETS["rasa_token"]  # by environment instead


@pytest.mark.parametrize("token", ["-starts-with-a-dash", "plain_token"])
def test_rasa_gets_the_exact_token_from_the_environment(token):
    """secrets.token_urlsafe() starts with '-' one time in 64; rasa run must still read it as the token."""
    from rasa.__main__ import create_argument_parser

    from bot.rasa_server import rasa_argv

    options = commands(Settings(rasa_token=token))["rasa"][1][3:]
    parsed = create_argument_parser().parse_args(rasa_argv(options, token)[1:])
    assert parsed.auth_token == token and parsed.enable_api and parsed.endpoints == "endpoints.yml"


def test_the_banner_says_where_secrets_are_not_what_they_are(tmp_path):
    from bot.__main__ import banner

    settings = Settings(var_dir=tmp_path, database_url="postgresql://bot:db-password@db/bot",
                        redis_url="redis://:redis-url-password@cache:6379/0", **SECRETS)
    text = banner(Stack(settings))
    for secret in [*SECRETS.values(), sign("C00001", SECRETS["identity_secret"]), "db-password", "redis-url-password"]:
        assert secret not in text
    assert str(tmp_path / "rasa_token") in text and "identity_secret" in text


def test_runtime_files_are_private(tmp_path):
    """`python -m bot seed` makes the var folder, the identity secret and the SQLite database."""
    var = tmp_path / "var"
    env = {**os.environ, "BOT_VAR_DIR": str(var), "DATABASE_URL": "", "ORDERS_API_URL": ""}
    subprocess.run([sys.executable, "-m", "bot", "seed"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    made = [path for path in var.rglob("*")]
    assert {"bot.db", "identity_secret"} <= {path.name for path in made}
    for path in made:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is {oct(stat.S_IMODE(path.stat().st_mode))}"
