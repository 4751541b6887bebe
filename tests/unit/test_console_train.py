"""The trainer's area of the console (/train, /api/train/...): who may use it, the inbox as trainers read it (masked,
visitors' messages only), deciding a row (taught into a copy of the data, then gone from the inbox), an intent's
examples, the history with undo, bad input answered 400 with the reason, and "Bot misunderstood" in an agent's
conversation. Every test works on tmp copies of data/, domain/, shop/facts.yml and a tmp models folder."""
import asyncio
import datetime as dt
import json
import re
import shutil
import sys
import uuid

import pytest
import sqlalchemy as sa

from bot.settings import ROOT
from bot.touchpoints import rollup
from bot.touchpoints.models import upgrade
from tests.unit.console_app import console_settings, rasa_trackers, served

EMAIL = "zoe.quinn@mailbox.test"
AGENT_SAYS = "I have refunded your order, anything else?"
FILE_OF_INVOICES = "orders.yml"


@pytest.fixture
def project(tmp_path):
    """Copies of what the trainer edits; the settings point at them, never at the repo's files."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "domain", tmp_path / "domain")
    (tmp_path / "shop").mkdir()
    shutil.copy2(ROOT / "shop" / "facts.yml", tmp_path / "shop" / "facts.yml")
    shutil.copytree(ROOT / "tests" / "stories", tmp_path / "stories")
    (tmp_path / "models").mkdir()
    (tmp_path / "var").mkdir()
    return tmp_path


def train_settings(project, redis_url, **overrides):
    return console_settings(project / "var", redis_url, train_data_dir=project / "data",
                            train_domain_dir=project / "domain", shop_facts_file=project / "shop" / "facts.yml",
                            train_stories_dir=project / "stories", models_dir=project / "models", **overrides)


def touchpoint(cid, text, actor="visitor", intent="check_invoice", confidence=0.3, minutes_ago=5, **extra):
    return {"conversation_id": cid, "customer_id": None, "channel": "widget", "actor": actor,
            "agent_id": "pia" if actor == "agent" else None, "type": "message", "stage": "purchase", "intent": intent,
            "confidence": confidence, "frustration": 0.0, "latency_ms": None, "text": text,
            "created_at": dt.datetime.utcnow() - dt.timedelta(minutes=minutes_ago), "meta": {}, **extra}


def seed(settings, rows):
    upgrade(settings.touchpoints_url)
    engine = sa.create_engine(settings.touchpoints_url)
    with engine.begin() as conn:
        rollup.insert(conn, rows)
    engine.dispose()


def misses(cid):
    """What the inbox must list (two misses of one kind, one with an email) and what it must not (an agent's turn,
    a confident answer)."""
    return [touchpoint(cid, "where can i see the bill for my parcel", minutes_ago=30),
            touchpoint(f"{cid}-b", "where can i see the bill for my parcel", minutes_ago=20),
            touchpoint(cid, f"my login {EMAIL} keeps saying wrong password", intent="edit_account", confidence=0.4),
            touchpoint(cid, "zzkq vbnm", intent="nlu_fallback", confidence=0.2, minutes_ago=50),
            touchpoint(cid, AGENT_SAYS, actor="agent", intent=None, confidence=None),
            touchpoint(cid, "where is my order", intent="track_order", confidence=0.97)]


async def fetch(client, path):
    async with client.http.get(client.base + path, allow_redirects=False) as resp:
        return resp.status, resp.headers, await resp.text()


API_ROUTES = [("GET", "/api/train/inbox"), ("POST", "/api/train/inbox/decide"), ("GET", "/api/train/intents"),
              ("GET", "/api/train/intents/track_order"), ("POST", "/api/train/examples"),
              ("POST", "/api/train/examples/remove"), ("POST", "/api/train/faq"), ("GET", "/api/train/history"),
              ("POST", "/api/train/history/1/undo"), ("POST", "/api/train/history/1/redo"), ("POST", "/api/train/jobs"),
              ("GET", "/api/train/jobs/latest"),
              ("GET", "/api/train/jobs/20260101-000000-abcd"), ("GET", "/api/train/models"),
              ("POST", "/api/train/models/x/activate"), ("POST", "/api/train/models/rollback"),
              ("GET", "/api/train/conversations/c1")]


def test_only_trainers_and_admins_use_the_training_area(project, redis_url):
    async def scenario():
        async with served(project, redis_url, train_settings(project, redis_url)) as console:
            guest, (agent, _), (trainer, _) = console.client(), await console.user("agent"), await console.user("trainer")
            admin = await console.admin()
            served_routes = {(m, r.path) for r in console.app.router.routes for m in r.methods
                             if r.path.startswith("api/train")}
            assert len(served_routes) == len(API_ROUTES)  # a new route joins the list, and so this test
            for method, path in API_ROUTES:
                assert (await guest.call(method, path))[0] == 401, path
                status, body = await agent.call(method, path)
                assert status == 403 and body == {"error": "this needs the role trainer"}, path
            assert (await fetch(guest, "/train"))[:2][0] == 302
            assert (await fetch(agent, "/train"))[0] == 403
            for who in (trainer, admin):
                status, _, page = await fetch(who, "/train")
                assert status == 200 and '<script src="/static/train.js">' in page and "<script>" not in page
                assert (await who.call("GET", "/api/train/intents"))[0] == 200
            status, headers, _ = await fetch(trainer, "/")  # a trainer signing in lands on /train
            assert status == 302 and headers["Location"] == "/train"
            assert (await fetch(admin, "/"))[0] == 200
    asyncio.run(scenario())


def test_the_inbox_lists_visitors_misses_masked_and_never_an_agents_message(project, redis_url):
    async def scenario():
        settings = train_settings(project, redis_url)
        cid = f"test-{uuid.uuid4().hex}"
        seed(settings, misses(cid))
        async with served(project, redis_url, settings) as console:
            trainer, _ = await console.user("trainer")
            status, inbox = await trainer.call("GET", "/api/train/inbox?order=frequent")
            assert status == 200, inbox
            texts = [item["text"] for item in inbox["items"]]
            assert texts[0] == "where can i see the bill for my parcel" and inbox["items"][0]["count"] == 2
            assert "unsure" in inbox["items"][0]["reasons"] and inbox["items"][0]["intent"] == "check_invoice"
            assert any("[email]" in t for t in texts), texts
            raw = str(inbox)
            assert EMAIL not in raw and AGENT_SAYS not in raw and "where is my order" not in raw
            status, found = await trainer.call("GET", "/api/train/inbox?search=password")
            assert status == 200 and [i["intent"] for i in found["items"]] == ["edit_account"]
            status, paged = await trainer.call("GET", "/api/train/inbox?limit=1&offset=1&order=frequent")
            assert status == 200 and len(paged["items"]) == 1 and paged["total"] == inbox["total"]
    asyncio.run(scenario())


def test_a_decided_row_is_taught_into_the_data_copy_and_leaves_the_inbox(project, redis_url):
    async def scenario():
        settings = train_settings(project, redis_url)
        cid = f"test-{uuid.uuid4().hex}"
        seed(settings, misses(cid))
        async with served(project, redis_url, settings) as console:
            trainer, me = await console.user("trainer")
            items = (await trainer.call("GET", "/api/train/inbox?order=frequent"))[1]["items"]
            bill = next(i for i in items if "bill" in i["text"])
            status, done = await trainer.call("POST", "/api/train/inbox/decide",
                                              {"key": bill["key"], "decision": "intent", "intent": "get_invoice"})
            assert status == 200, done
            taught = "    - where can i see the bill for my parcel\n"
            assert [p.name for p in (project / "data" / "nlu").glob("*.yml") if taught in p.read_text()] == [FILE_OF_INVOICES]
            examples = (await trainer.call("GET", "/api/train/intents/get_invoice"))[1]["examples"]
            assert "where can i see the bill for my parcel" in examples
            left = (await trainer.call("GET", "/api/train/inbox"))[1]["items"]
            assert bill["key"] not in [i["key"] for i in left]
            login = next(i for i in left if "password" in i["text"])
            assert (await trainer.call("POST", "/api/train/inbox/decide", {"key": login["key"], "decision": "ignore"}))[0] == 200
            gibberish = (await trainer.call("GET", "/api/train/inbox"))[1]["items"][0]["key"]
            assert await trainer.call("POST", "/api/train/inbox/decide", {"key": gibberish, "decision": "correct"}) == (
                400, {"error": "the bot had no intent for this message to confirm: choose one (change intent)"})
            assert (await trainer.call("POST", "/api/train/inbox/decide", {"key": gibberish, "decision": "ignore"}))[0] == 200
            assert not (await trainer.call("GET", "/api/train/inbox"))[1]["items"]
            history = (await trainer.call("GET", "/api/train/history"))[1]["changes"]
            assert history[0]["source"] == "inbox" and history[0]["by"] == me["username"]
            assert history[0]["intent"] == "get_invoice"
            assert ROOT / "data" != project / "data"  # the repo's data was never the one changed
    asyncio.run(scenario())


def test_an_email_in_an_inbox_message_is_taught_as_a_sample_address(project, redis_url):
    async def scenario():
        settings = train_settings(project, redis_url)
        seed(settings, misses(f"test-{uuid.uuid4().hex}"))
        async with served(project, redis_url, settings) as console:
            trainer, _ = await console.user("trainer")
            items = (await trainer.call("GET", "/api/train/inbox"))[1]["items"]
            login = next(i for i in items if "password" in i["text"])
            status, done = await trainer.call("POST", "/api/train/inbox/decide", {"key": login["key"], "decision": "correct"})
            assert status == 200, done
            data = "".join(p.read_text() for p in (project / "data" / "nlu").glob("*.yml"))
            assert EMAIL not in data and "keeps saying wrong password" in data
    asyncio.run(scenario())


def test_examples_are_added_moved_removed_and_undone(project, redis_url):
    async def scenario():
        async with served(project, redis_url, train_settings(project, redis_url)) as console:
            trainer, _ = await console.user("trainer")
            text = "my parcel went to the neighbours, where is it"
            status, added = await trainer.call("POST", "/api/train/examples", {"intent": "track_order", "text": text})
            assert status == 201, added
            orders = project / "data" / "nlu" / "orders.yml"
            assert f"    - {text}\n" in orders.read_text()
            status, moved = await trainer.call("POST", "/api/train/examples", {"intent": "complaint", "text": text})
            assert status == 201, moved
            assert text not in (await trainer.call("GET", "/api/train/intents/track_order"))[1]["examples"]
            assert text in (await trainer.call("GET", "/api/train/intents/complaint"))[1]["examples"]
            history = (await trainer.call("GET", "/api/train/history"))[1]["changes"]
            status, undone = await trainer.call("POST", f"/api/train/history/{history[0]['id']}/undo")
            assert status == 200, undone
            assert text in (await trainer.call("GET", "/api/train/intents/track_order"))[1]["examples"]
            assert text not in (await trainer.call("GET", "/api/train/intents/complaint"))[1]["examples"]
            status, again = await trainer.call("POST", f"/api/train/history/{history[0]['id']}/redo")
            assert status == 200 and again["change"]["intent"] == "complaint", again  # the move made again
            assert text in (await trainer.call("GET", "/api/train/intents/complaint"))[1]["examples"]
            status, refused = await trainer.call("POST", f"/api/train/history/{again['change']['id']}/redo")
            assert status == 400 and "nothing to redo" in refused["error"]
            status, removed = await trainer.call("POST", "/api/train/examples/remove", {"text": text})
            assert status == 200, removed
            assert f"    - {text}\n" not in orders.read_text()
            counts = {i["name"]: i["examples"] for i in (await trainer.call("GET", "/api/train/intents"))[1]["intents"]}
            assert counts["track_order"] > 5 and "faq_opening_hours" in counts
            found = (await trainer.call("GET", "/api/train/intents?search=neighbours"))[1]["intents"]
            assert found and all(i["matches"] for i in found) and len(found) < len(counts)
            by_name = (await trainer.call("GET", "/api/train/intents?search=track_"))[1]["intents"]
            assert {i["name"] for i in by_name} >= {"track_order", "track_refund"}
    asyncio.run(scenario())


def test_an_undo_the_data_no_longer_allows_is_refused_with_its_reason(project, redis_url):
    async def scenario():
        async with served(project, redis_url, train_settings(project, redis_url)) as console:
            trainer, _ = await console.user("trainer")
            text = "the courier left my parcel in the rain"
            assert (await trainer.call("POST", "/api/train/examples", {"intent": "complaint", "text": text}))[0] == 201
            first = (await trainer.call("GET", "/api/train/history"))[1]["changes"][0]
            assert (await trainer.call("POST", "/api/train/examples/remove", {"text": text}))[0] == 200
            status, refused = await trainer.call("POST", f"/api/train/history/{first['id']}/undo")
            assert status in (400, 409) and refused["error"], refused
            assert (await trainer.call("POST", "/api/train/history/999999/undo"))[0] in (400, 404)
    asyncio.run(scenario())


@pytest.mark.parametrize("path, body, says", [
    ("/api/train/examples", {"intent": "track_order"}, "write the example first"),
    ("/api/train/examples", {"intent": "Track Order!", "text": "hello"}, "an intent name is made of a-z"),
    ("/api/train/examples", {"intent": "no_such_intent", "text": "hello there"}, "no_such_intent"),
    ("/api/train/examples", {"text": "hello there"}, "choose an intent"),
    ("/api/train/examples/remove", {"text": ""}, "write the example first"),
    ("/api/train/inbox/decide", {"decision": "correct"}, "say which inbox row"),
    ("/api/train/inbox/decide", {"key": "x", "decision": "teach"}, "decision must be correct, intent or ignore"),
    ("/api/train/faq", {"intent": "faq_returns_label", "examples": "one question", "answer": "We do."},
     "at least two example questions"),
    ("/api/train/faq", {"intent": "faq_returns_label", "examples": "how?\nwhy?"}, "write the answer first"),
    ("/api/train/models/rollback", {}, "write the reason first"),
    ("/api/train/models/some-candidate/activate", {"reason": ""}, "write the reason first"),
])
def test_bad_input_is_a_400_that_says_why_and_changes_nothing(project, redis_url, path, body, says):
    async def scenario():
        async with served(project, redis_url, train_settings(project, redis_url)) as console:
            trainer, _ = await console.user("trainer")
            before = {p.name: p.read_bytes() for p in (project / "data" / "nlu").glob("*.yml")}
            status, answer = await trainer.call("POST", path, body)
            assert status == 400 and says in answer["error"], answer
            assert {p.name: p.read_bytes() for p in (project / "data" / "nlu").glob("*.yml")} == before
    asyncio.run(scenario())


def test_bad_inbox_queries_are_refused(project, redis_url):
    async def scenario():
        async with served(project, redis_url, train_settings(project, redis_url)) as console:
            trainer, _ = await console.user("trainer")
            assert await trainer.call("GET", "/api/train/inbox?order=oldest") == (
                400, {"error": "order must be one of newest, frequent"})
            assert (await trainer.call("GET", "/api/train/inbox?limit=lots"))[0] == 400
            assert (await trainer.call("GET", "/api/train/inbox?limit=100000"))[0] == 400
            status, gone = await trainer.call("POST", "/api/train/inbox/decide", {"key": "nothing-like-it", "decision": "ignore"})
            assert status == 404 and "no longer in the inbox" in gone["error"]
    asyncio.run(scenario())


def test_a_new_faq_is_its_intent_examples_answer_and_rule(project, redis_url):
    async def scenario():
        async with served(project, redis_url, train_settings(project, redis_url)) as console:
            trainer, _ = await console.user("trainer")
            status, made = await trainer.call("POST", "/api/train/faq", {
                "intent": "faq_returns_label", "examples": "where is my returns label\nI lost the return label",
                "answer": "Your returns label is in the parcel, or print it from your account."})
            assert status == 201, made
            assert "faq_returns_label" in (project / "data" / "nlu" / "faq.yml").read_text()
            assert "print it from your account" in (project / "shop" / "facts.yml").read_text()
            assert "faq_returns_label" in (project / "data" / "rules" / "answers.yml").read_text()
            examples = (await trainer.call("GET", "/api/train/intents/faq_returns_label"))[1]["examples"]
            assert examples == ["where is my returns label", "I lost the return label"]
    asyncio.run(scenario())


def test_the_models_area_answers_before_any_training(project, redis_url):
    async def scenario():
        async with served(project, redis_url, train_settings(project, redis_url)) as console:
            trainer, _ = await console.user("trainer")
            assert await trainer.call("GET", "/api/train/jobs/latest") == (200, {"job": None})
            status, models = await trainer.call("GET", "/api/train/models")
            assert status == 200 and models["activations"] == [] and models["candidates"] == []
            assert (await trainer.call("GET", "/api/train/jobs/20260101-000000-abcd"))[0] == 404
            status, refused = await trainer.call("POST", "/api/train/models/rollback", {"reason": "it is worse"})
            assert status in (400, 409) and refused["error"]
    asyncio.run(scenario())


def conversation_events(cid):
    return [{"event": "user", "text": "i need the paper for my purchase", "timestamp": 10.5,
             "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.2}}},
            {"event": "bot", "text": "Sorry, I did not get that.", "timestamp": 11.0},
            {"event": "user", "text": "/greet", "timestamp": 12.0},
            {"event": "bot", "text": "I refunded it", "timestamp": 13.0, "metadata": {"agent": {"id": "pia"}}},
            {"event": "user", "text": f"it went to {EMAIL}", "timestamp": 14.0}]


def test_bot_misunderstood_flags_a_visitors_message_read_from_the_transcript(project, redis_url):
    async def scenario():
        async with rasa_trackers(events=conversation_events) as rasa_url:
            settings = train_settings(project, redis_url, rasa_api_url_override=rasa_url)
            async with served(project, redis_url, settings) as console:
                agent, _ = await console.user("agent")
                trainer, _ = await console.user("trainer")
                cid = await console.handoff("general")
                # the broker's touchpoint of that message, understood with confidence: listed only once flagged
                seed(settings, [touchpoint(cid, "i need the paper for my purchase", intent="get_invoice", confidence=0.95)])
                assert not (await trainer.call("GET", "/api/train/inbox"))[1]["items"]
                path = f"/api/conversations/{cid}/flag"
                assert await agent.call("POST", path, {"timestamp": 11.0}) == (
                    404, {"error": "no message the visitor typed is at that point of the transcript"})  # the bot's
                assert (await agent.call("POST", path, {"timestamp": 12.0}))[0] == 404  # a payload
                assert (await agent.call("POST", path, {"timestamp": 13.0}))[0] == 404  # an agent's
                assert (await agent.call("POST", path, {"text": "made up"}))[0] == 400
                assert await agent.call("POST", path, {"timestamp": 10.5}) == (201, {"flagged": True})
                items = (await trainer.call("GET", "/api/train/inbox"))[1]["items"]
                flagged = [i for i in items if "flagged" in i["reasons"]]
                assert [i["text"] for i in flagged] == ["i need the paper for my purchase"]
                assert flagged[0]["conversation_id"] == cid
                status, context = await trainer.call("GET", f"/api/train/conversations/{cid}")
                assert status == 200 and context["transcript"][0]["text"] == "i need the paper for my purchase"
                assert [t["sender"] for t in context["transcript"]] == ["visitor", "bot", "agent", "visitor"]
                assert context["transcript"][-1]["text"] == "it went to [email]" and EMAIL not in str(context)
                assert (await trainer.call("GET", "/api/train/conversations/not-in-the-inbox"))[0] == 403
                other, _ = await console.user("agent", teams=["payments"])
                bot_only = f"test-{uuid.uuid4().hex}"
                assert (await other.call("POST", f"/api/conversations/{bot_only}/flag", {"timestamp": 10.5}))[0] == 403
    asyncio.run(scenario())


# the trainer's stand-in (tests/integration and tests/e2e run the real one): its stages, then "done" with a candidate
# once the test drops a "go" file beside the jobs
FAKE_TRAINER = """
import json, os, sys, time
from pathlib import Path
job = Path(sys.argv[sys.argv.index("--job") + 1])
status = json.loads((job / "status.json").read_text())
def write(**kw):
    status.update(kw)
    (job / "s.tmp").write_text(json.dumps(status)); os.replace(job / "s.tmp", job / "status.json")
write(stage="train", progress=0.3, detail="training the classifier", started_at=status["created_at"],
      log_tail=["Starting to train component 'LogisticRegressionClassifier'"])
while not (job.parent / "go").exists():
    time.sleep(0.05)
write(stage="done", progress=1.0, candidate=job.name, report={"gate": []})
"""


class Replicas:
    """The Rasa servers an activation loads, answering yes; what each was asked."""

    def __init__(self):
        self.calls = []

    def __call__(self, url, token, model_file):
        self.calls.append((url, model_file))
        return {"url": url, "ok": True, "status": 200, "model_id": "m", "error": None, "seconds": 0.1}


def scores(f1, sha):
    return {"file": "x.tar.gz", "sha256": sha, "blind": {"blind": {
        "macro": {"f1": f1, "precision": f1, "recall": f1}, "confusions": [],
        "intents": {"track_order": {"precision": f1, "recall": f1, "f1": f1, "support": 25}}}}}


def candidate(models_dir, cid, f1):
    from bot.training.evaluate import build_report, file_sha256

    (models_dir / "candidates").mkdir(exist_ok=True)
    (models_dir / "candidates" / f"{cid}.tar.gz").write_bytes(cid.encode())
    report = build_report(scores(f1, "x"), scores(0.9, file_sha256(models_dir / "current.tar.gz")),
                          {"passed": True, "stories": 3, "failed": []})
    (models_dir / "candidates" / f"{cid}.json").write_text(json.dumps({"id": cid, "report": report}))


def test_training_runs_one_at_a_time_and_its_status_is_polled(project, redis_url, tmp_path):
    from bot.training.jobs import TrainingJobs

    async def scenario():
        settings = train_settings(project, redis_url)
        async with served(project, redis_url, settings) as console:
            script = tmp_path / "fake_trainer.py"
            script.write_text(FAKE_TRAINER)
            console.app.ctx.jobs = jobs = TrainingJobs(settings, command=[sys.executable, str(script)])
            trainer, me = await console.user("trainer")
            status, started = await trainer.call("POST", "/api/train/jobs", {"cross_validate": True})
            assert status == 202 and started["job"]["by"] == me["username"] and started["job"]["cross_validate"]
            job_id = started["job"]["id"]
            status, busy = await trainer.call("POST", "/api/train/jobs", {})
            assert status == 409 and "a training is running" in busy["error"]
            for _ in range(200):
                job = (await trainer.call("GET", f"/api/train/jobs/{job_id}"))[1]["job"]
                if job["stage"] == "train":
                    break
                await asyncio.sleep(0.05)
            assert job["detail"] == "training the classifier" and job["log_tail"] and 0 < job["progress"] < 1
            (jobs.dir / "go").touch()
            for _ in range(200):
                job = (await trainer.call("GET", "/api/train/jobs/latest"))[1]["job"]
                if job["stage"] == "done":
                    break
                await asyncio.sleep(0.05)
            assert job["id"] == job_id and job["stage"] == "done" and job["candidate"] == job_id
            for process in jobs.processes.values():
                process.wait(10)
    asyncio.run(scenario())


def test_a_candidate_is_activated_with_a_reason_refused_by_the_gate_and_rolled_back(project, redis_url):
    from bot.training.models import ModelStore

    async def scenario():
        settings = train_settings(project, redis_url)
        models_dir = settings.models_dir
        (models_dir / "current.tar.gz").write_bytes(b"the first model")
        candidate(models_dir, "20260101-000000-aaaa", f1=0.92)
        candidate(models_dir, "20260101-000000-bbbb", f1=0.5)
        async with served(project, redis_url, settings) as console:
            replicas = Replicas()
            console.app.ctx.models = ModelStore(models_dir, settings.sql_url, 0.05, loader=replicas)
            trainer, me = await console.user("trainer")
            status, models = await trainer.call("GET", "/api/train/models")
            assert status == 200 and models["active"]["id"].startswith("initial-")
            gates = {c["id"]: c["gate"] for c in models["candidates"]}
            assert gates["20260101-000000-aaaa"] == [] and "track_order" in gates["20260101-000000-bbbb"][0]
            status, refused = await trainer.call("POST", "/api/train/models/20260101-000000-bbbb/activate",
                                                 {"reason": "try it"})
            assert status == 409 and refused["reasons"] and "gate refuses" in refused["error"]
            assert (models_dir / "current.tar.gz").read_bytes() == b"the first model"
            forced = {"reason": "try it", "force": True}
            assert (await trainer.call("POST", "/api/train/models/20260101-000000-bbbb/activate", forced))[0] == 403
            assert (models_dir / "current.tar.gz").read_bytes() == b"the first model"
            status, done = await trainer.call("POST", "/api/train/models/20260101-000000-aaaa/activate",
                                              {"reason": "more invoice phrases"})
            assert status == 200, done
            assert done["activation"]["by"] == me["username"] and done["activation"]["reason"] == "more invoice phrases"
            assert [url for url, _ in replicas.calls] == list(settings.replicas)
            assert (models_dir / "current.tar.gz").read_bytes() == b"20260101-000000-aaaa"
            assert (await trainer.call("GET", "/api/train/models"))[1]["active"]["id"] == "20260101-000000-aaaa"
            status, back = await trainer.call("POST", "/api/train/models/rollback", {"reason": "customers complain"})
            assert status == 200 and back["activation"]["kind"] == "rollback"
            assert (models_dir / "current.tar.gz").read_bytes() == b"the first model"
            log = (await trainer.call("GET", "/api/train/models"))[1]["activations"]
            assert [(a["kind"], a["reason"]) for a in log] == [("rollback", "customers complain"),
                                                               ("activate", "more invoice phrases")]
            assert (await trainer.call("POST", "/api/train/models/20260101-000000-zzzz/activate", {"reason": "x"}))[0] == 404
    asyncio.run(scenario())


def test_the_trainers_page_builds_its_dom_from_text_only():
    """User text (visitors' messages, examples, reasons) goes in with textContent: the page's script has no way of
    writing HTML, and the template has no inline script (the console's CSP would refuse it anyway)."""
    static = ROOT / "bot" / "console" / "static"
    for script in ("train.js", "console.js"):
        source = (static / script).read_text(encoding="utf-8")
        assert not any(sink in source for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write")), script
    page = (ROOT / "bot" / "console" / "templates" / "train.html").read_text(encoding="utf-8")
    assert "<script>" not in page and not re.search(r"\son[a-z]+=", page)
