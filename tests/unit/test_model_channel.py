"""The model channel's guards over real HTTP (Rasa's own registration on a Sanic app on a free port): the token,
and no file outside the models folder. Loading a real model is tests/integration/test_training.py's."""
import asyncio
import json
import os
import uuid

import aiohttp
import pytest
from rasa.core.channels.channel import register
from sanic import Sanic

from bot.channels.model import ModelInput, model_path, token_ok
from tests.sanic_server import serving

TOKEN = "rasa-token-for-tests"  # noqa: S105 (a test fixture)


@pytest.fixture()
def models(tmp_path):
    folder = tmp_path / "models"
    (folder / "history").mkdir(parents=True)
    (folder / "current.tar.gz").write_bytes(b"m")
    (folder / "history" / "old.tar.gz").write_bytes(b"o")
    (tmp_path / "outside.tar.gz").write_bytes(b"x")
    os.symlink(tmp_path / "outside.tar.gz", folder / "link.tar.gz")
    return folder


def test_only_model_files_inside_the_folder_are_accepted(models):
    assert model_path(models, "current.tar.gz") == (models / "current.tar.gz").resolve()
    assert model_path(models, "history/old.tar.gz") == (models / "history" / "old.tar.gz").resolve()
    for bad in ["../outside.tar.gz", str(models / "current.tar.gz"), "link.tar.gz", "missing.tar.gz",
                "history", "current.tar.gz\0", None, 42, ["current.tar.gz"], "x" * 300 + ".tar.gz"]:
        assert model_path(models, bad) is None, bad


def test_the_token_is_compared_whole():
    assert token_ok(TOKEN, TOKEN)
    assert not token_ok(TOKEN[:-1], TOKEN) and not token_ok("", TOKEN) and not token_ok("", "")


class Processor:
    model_filename = "current.tar.gz"


class LoadedAgent:
    """Stands in for Rasa's agent, as far as the status route reads it."""
    processor = Processor()
    model_id = "abc123"


def call_all(models, calls):
    app = Sanic(f"model_channel_test_{uuid.uuid4().hex}")
    app.ctx.agent = LoadedAgent()
    register([ModelInput(token=TOKEN, models_dir=models)], app, "/webhooks/")

    async def go():
        out = []
        async with serving(app) as base, aiohttp.ClientSession() as http:
            for method, path, headers, body in calls:
                data = body if isinstance(body, str) else json.dumps(body)
                async with http.request(method, base + path, headers=headers, data=data) as resp:
                    out.append((resp.status, await resp.json()))
        return out

    return asyncio.run(go())


BEARER = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def test_without_the_token_nothing_is_loaded_or_shown(models):
    answers = call_all(models, [
        ("POST", "/webhooks/model/load", {}, {"model_file": "current.tar.gz"}),
        ("POST", "/webhooks/model/load", {"Authorization": "Bearer wrong"}, {"model_file": "current.tar.gz"}),
        ("GET", "/webhooks/model/status", {}, ""),
        ("GET", "/webhooks/model/status?token=wrong", {}, ""),
    ])
    assert [status for status, _ in answers] == [401, 401, 401, 401]


def test_status_names_the_loaded_model_with_the_token_as_header_or_query(models):
    answers = call_all(models, [("GET", "/webhooks/model/status", BEARER, ""),
                                ("GET", f"/webhooks/model/status?token={TOKEN}", {}, "")])
    for status, body in answers:
        assert status == 200 and body["model_file"] == "current.tar.gz" and body["model_id"] == "abc123"


@pytest.mark.parametrize("body", [{"model_file": "../outside.tar.gz"}, {"model_file": "link.tar.gz"}, {},
                                  "not json", ["current.tar.gz"], {"model_file": "/etc/passwd"}])
def test_a_file_outside_the_models_folder_is_refused(models, body):
    [(status, answer)] = call_all(models, [("POST", "/webhooks/model/load", BEARER, body)])
    assert status == 400 and "inside the models folder" in answer["error"]


def test_credentials_register_the_model_channel():
    import yaml

    from bot.settings import ROOT

    assert "bot.channels.model.ModelInput" in yaml.safe_load((ROOT / "credentials.yml").read_text())
