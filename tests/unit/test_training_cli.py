"""The CLI logs changes and activations under the OS user's name: a container user with no passwd entry is "cli"."""
import getpass

import pytest

from bot.__main__ import os_user


@pytest.mark.parametrize("error", [KeyError("getpwuid(): uid not found: 1234"), OSError("No username set")])
def test_a_user_with_no_name_is_cli(monkeypatch, error):
    def no_name():
        raise error

    monkeypatch.setattr(getpass, "getuser", no_name)
    assert os_user() == "cli"


def test_the_name_fits_the_logs_column(monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "x" * 40)
    assert os_user() == "x" * 32
    monkeypatch.setattr(getpass, "getuser", lambda: "")
    assert os_user() == "cli"


def settings_for(tmp_path):
    import socket

    from bot.settings import Settings

    with socket.socket() as sock:  # a port nobody listens on: the replica is not running
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "var").mkdir()
    return Settings(models_dir=tmp_path / "models", var_dir=tmp_path / "var", rasa_token="t",
                    rasa_replicas=(f"http://127.0.0.1:{port}",))


def a_candidate(models, cid, conversations):
    import json

    from bot.training.evaluate import build_report, file_sha256

    def entry(sha):
        return {"file": "x", "sha256": sha, "blind": {"blind": {"macro": {"f1": 0.9},
                                                               "intents": {"a": {"f1": 0.9, "support": 5}}}}}

    (models / "candidates").mkdir(parents=True, exist_ok=True)
    (models / "candidates" / f"{cid}.tar.gz").write_bytes(cid.encode())
    report = build_report(entry("x"), entry(file_sha256(models / "current.tar.gz")), conversations)
    (models / "candidates" / f"{cid}.json").write_text(json.dumps({"id": cid, "report": report}))


def test_make_trains_candidate_is_activated_through_the_gate_and_logged(tmp_path, monkeypatch):
    import bot.__main__ as cli
    from bot.training.models import ModelStore

    settings = settings_for(tmp_path)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr(getpass, "getuser", lambda: "dev")
    settings.models_dir.mkdir()
    (settings.models_dir / "current.tar.gz").write_bytes(b"activated by anna")
    a_candidate(settings.models_dir, "20260101-000000-bad0", {"passed": False, "stories": 1, "failed": ["refund"]})
    assert cli.activate_trained("20260101-000000-bad0", "make train") == 1  # the gate refuses: nothing changes
    assert (settings.models_dir / "current.tar.gz").read_bytes() == b"activated by anna"
    a_candidate(settings.models_dir, "20260101-000000-good", {"passed": True, "stories": 1, "failed": []})
    assert cli.activate_trained("20260101-000000-good", "make train") == 0
    assert (settings.models_dir / "current.tar.gz").read_bytes() == b"20260101-000000-good"
    row = ModelStore(settings.models_dir, settings.sql_url).activations()[0]
    assert (row.by, row.reason, row.model, row.state) == ("dev", "make train", "20260101-000000-good", "done")
    assert row.replicas[0]["unreachable"]
