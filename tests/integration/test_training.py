"""The trainer loop for real, once: a novel phrase taught on a copy of the data, a candidate trained by the real job
(idle priority) and evaluated, activated into a running Rasa server (which then understands the phrase, and kept
answering while it loaded), a candidate that fails a conversation test refused, a rollback that brings the old
model back, and the log of who did it and why. Everything on copies: the project's models/ is never touched."""
from __future__ import annotations

import json
import shutil
import threading
import time
import uuid

import pytest
import requests

from bot.runner import Stack
from bot.settings import ROOT, Settings
from bot.training import evaluate
from bot.training.jobs import TrainingBusy, TrainingJobs, copy_inputs
from bot.training.models import ActivationRefused, ModelStore
from bot.training.nlu_data import NluData
from tests.conftest import ADMIN_PASSWORD, free_port

PHRASE = "flurbo grunkle snazzwick"  # no word of it was ever taught
INTENT = "faq_gift_cards"
REST_TOKEN = "rest-token-for-tests"  # noqa: S105 (a test fixture)


@pytest.fixture(scope="module")
def world(tmp_path_factory, redis_url, database_url):
    """A copy of the training inputs with the phrase taught, a copy of the active model, and a settings for both."""
    root = tmp_path_factory.mktemp("trainer")
    copy_inputs(Settings(), root)  # the project's data, domain, config.yml and stories, laid out as a job's
    (root / "models").mkdir()
    shutil.copy2(ROOT / "models" / "current.tar.gz", root / "models" / "current.tar.gz")
    nlu = NluData(root / "data", root / "domain")
    nlu.add(INTENT, PHRASE)  # what tests/e2e/test_train_browser.py teaches too: one training is then Rasa's cache
    return Settings(
        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), redis_url=redis_url,
        database_url=database_url, var_dir=root / "var", console_admin_password=ADMIN_PASSWORD,
        rest_token=REST_TOKEN, demo_data=False, models_dir=root / "models", train_data_dir=root / "data",
        train_domain_dir=root / "domain", train_config=root / "config.yml", train_stories_dir=root / "stories",
    )


@pytest.fixture(scope="module")
def trained(world):
    """The job started first (it trains at idle priority while the server loads), then the server."""
    jobs = TrainingJobs(world)
    job = jobs.start("tester")
    with jobs.cancelled_on_exit(job.id, "tester"):  # an error, Ctrl-C or a timed-out wait: no `rasa train` left
        with pytest.raises(TrainingBusy):
            jobs.start("someone else")
        stack = Stack(world, model=world.models_dir).start()
        try:
            status = jobs.wait(job.id, timeout=900)
            yield jobs, job, status, stack
        finally:
            stack.stop()


def parse(stack, text):
    answer = requests.post(f"{stack.settings.rasa_api_url}/model/parse", params={"token": stack.settings.rasa_token},
                           json={"text": text}, timeout=30)
    answer.raise_for_status()
    return answer.json()


def rasa_status(stack):
    return requests.get(f"{stack.settings.rasa_api_url}/status", params={"token": stack.settings.rasa_token},
                        timeout=10).json()


def test_the_job_trains_evaluates_and_reports(trained, world):
    _jobs, job, status, _stack = trained
    assert status["stage"] == "done", status
    print(f"\nthe job took {status['elapsed_seconds']} s")
    assert status["progress"] == 1.0 and status["elapsed_seconds"] > 0 and status["log_tail"]
    report = status["report"]
    assert report["gate"] == [], report["gate"]
    assert report["conversation_tests"]["passed"] and report["conversation_tests"]["stories"] > 10
    assert report["active"]["sha256"] == evaluate.file_sha256(world.models_dir / "current.tar.gz")
    for entry in (report["candidate"], report["active"]):
        blind = entry["blind"]["blind"]
        assert blind["examples"] > 1000 and 0.8 < blind["macro"]["f1"] <= 1.0
        assert set(blind["intents"][INTENT]) == {"precision", "recall", "f1", "support"}
    assert (world.models_dir / "candidates" / f"{job.id}.tar.gz").exists()
    json.dumps(report)


def chat_while(stack, busy: threading.Event):
    """Messages sent while `busy` is set: (status, seconds) of each."""
    answers = []
    sender = f"load-{uuid.uuid4().hex}"
    while busy.is_set():
        started = time.monotonic()
        r = requests.post(f"{stack.settings.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "hi"},
                          headers={"Authorization": f"Bearer {REST_TOKEN}"}, timeout=60)
        answers.append((r.status_code, time.monotonic() - started))
    return answers


def test_activate_refuse_and_roll_back(trained, world, tmp_path):
    _jobs, job, status, stack = trained
    assert status["stage"] == "done"
    store = ModelStore(world.models_dir, world.sql_url, world.activate_f1_margin)
    first = store.active()
    earlier = {a.id for a in store.activations(limit=10_000)}  # a PostgreSQL kept between runs holds older ones
    before = rasa_status(stack)
    assert parse(stack, PHRASE)["intent"]["name"] != INTENT

    busy, answers = threading.Event(), []
    busy.set()
    chatter = threading.Thread(target=lambda: answers.extend(chat_while(stack, busy)))
    chatter.start()
    try:
        done = store.activate(job.id, "tester", "taught the flurbo phrase", world.replicas, world.rasa_token)
    finally:
        busy.clear()
        chatter.join()
    assert done.ok, done.replicas
    assert answers and all(code == 200 for code, _ in answers), answers  # the bot answered while it loaded
    slowest = max(seconds for _, seconds in answers)
    print(f"\nloading took {done.replicas[0]['seconds']} s; {len(answers)} messages answered meanwhile, "
          f"the slowest in {slowest:.2f} s")
    assert slowest < 10, answers  # built in a worker thread: the event loop was never held for the whole load
    assert evaluate.raw_intent(parse(stack, PHRASE)) == INTENT  # the classifier's top intent, fallback or not
    after = rasa_status(stack)
    assert after["model_id"] != before["model_id"]
    loaded = requests.get(f"{stack.settings.rasa_api_url}/webhooks/model/status",
                          headers={"Authorization": f"Bearer {world.rasa_token}"}, timeout=10).json()
    assert loaded["loaded"] == "current.tar.gz" and loaded["model_id"] == after["model_id"]

    refused_conversation_test(store, job.id, tmp_path, world)

    back = store.rollback("tester", "checking the way back", world.replicas, world.rasa_token)
    assert back.ok and back.model == first["id"]
    assert parse(stack, PHRASE)["intent"]["name"] != INTENT
    assert rasa_status(stack)["model_id"] == before["model_id"]
    log = [(a.kind, a.by, a.reason, a.model) for a in store.activations() if a.id not in earlier]
    assert log == [("rollback", "tester", "checking the way back", first["id"]),
                   ("activate", "tester", "taught the flurbo phrase", job.id)]


def refused_conversation_test(store, model_id, tmp_path, world):
    """The trained model run against a story it fails (the bot greets, the story wants a goodbye): refused."""
    stories = tmp_path / "stories"
    stories.mkdir()
    (stories / "test_wrong.yml").write_text(
        'version: "3.1"\nstories:\n- story: greeting answered with a goodbye\n  steps:\n'
        "  - user: |\n      hello there\n    intent: greet\n  - action: utter_goodbye\n")
    model = world.models_dir / "candidates" / f"{model_id}.tar.gz"
    outcome = evaluate.conversation_tests(model, stories, tmp_path / "out")
    assert not outcome["passed"] and outcome["failed"][0].startswith("greeting answered with a goodbye")
    failing = "29990101-000000-bad0"
    shutil.copy2(model, world.models_dir / "candidates" / f"{failing}.tar.gz")
    active = store.active()
    report = evaluate.build_report(evaluate.model_entry(model, {}), {"sha256": active["sha256"]}, outcome)
    (world.models_dir / "candidates" / f"{failing}.json").write_text(json.dumps({"report": report}))
    with pytest.raises(ActivationRefused, match="conversation test failed: greeting answered"):
        store.activate(failing, "tester", "should not pass", world.replicas, world.rasa_token)
    assert store.active()["id"] == active["id"]
