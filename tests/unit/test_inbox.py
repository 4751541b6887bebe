"""The NLU inbox: which visitor messages are listed and why, grouped and masked; never an agent's text."""
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

from bot import db
from bot.settings import ENV_TRAIN_DATA_DIR, ENV_TRAIN_DOMAIN_DIR, ENV_VAR_DIR, ROOT
from bot.touchpoints import rollup
from bot.touchpoints.events import ConversationState, row
from bot.touchpoints.models import upgrade
from bot.training.changes import TrainingChanges, TrainingError
from bot.training.inbox import Inbox, flags, group_key
from bot.training.nlu_data import NluData

NOW = dt.datetime.utcnow().replace(microsecond=0)


@pytest.fixture
def urls(tmp_path):
    yield f"sqlite:///{tmp_path / 'touchpoints.db'}", f"sqlite:///{tmp_path / 'bot.db'}"
    db.dispose_all()


@pytest.fixture
def inbox(urls):
    box = Inbox(*urls, confidence=0.6, days=30)
    yield box
    box.close()


@pytest.fixture
def add(urls):
    upgrade(urls[0])

    def write(cid, kind="message", actor="visitor", *, ago=0, **fields):
        item = row(cid, kind, actor, ConversationState(channel="widget"), NOW - dt.timedelta(minutes=ago), **fields)
        with db.using(urls[0]) as engine, engine.begin() as conn:
            rollup.insert(conn, [item])
    return write


def listed(inbox, **query):
    items, total = inbox.items(**query)
    return {item.text: item for item in items}, total


def test_unsure_and_fallback_messages_are_listed_sure_ones_not(inbox, add):
    add("c1", text="do you have a student discount", intent="nlu_fallback", confidence=0.3)
    add("c1", "fallback", "system", text="do you have a student discount", intent="nlu_fallback")
    add("c2", text="where is my parcel", intent="track_order", confidence=0.55)
    add("c3", text="where is my parcel please", intent="track_order", confidence=0.95)
    add("c4", text="/affirm", intent="affirm", confidence=0.2)  # a button payload
    items, total = listed(inbox)
    assert total == 2 and set(items) == {"do you have a student discount", "where is my parcel"}
    assert items["do you have a student discount"].reasons == ["unsure", "fallback"]
    assert items["where is my parcel"].reasons == ["unsure"]
    assert (items["where is my parcel"].intent, items["where is my parcel"].confidence) == ("track_order", 0.55)


def test_escalated_messages_are_those_before_asking_for_a_person_but_not_the_request(inbox, add):
    add("c1", text="my parcel is broken", intent="complaint", confidence=0.8, ago=5)
    add("c1", text="I want a human", intent="contact_human_agent", confidence=0.7, ago=4)
    add("c1", "handoff_requested", reason="requested", ago=4)
    add("c1", "handoff_queued", "system", ago=4)
    add("c1", text="the box was wet", intent="inform", confidence=0.5, ago=1)  # to the agent, but unsure
    add("c1", text="it was the blue one", intent="inform", confidence=0.8, ago=1)  # to the agent
    add("c2", text="my parcel is damaged", intent="complaint", confidence=0.8)  # nobody asked for a person
    items, _ = listed(inbox)
    assert items["my parcel is broken"].reasons == ["escalated"]
    assert "I want a human" not in items and "it was the blue one" not in items
    assert "my parcel is damaged" not in items
    assert "the box was wet" not in items  # typed to the agent (still queued): not the bot's to understand


def test_messages_to_an_agent_are_listed_only_when_flagged(inbox, add):
    add("c1", text="I want a human", intent="contact_human_agent", confidence=0.95, ago=10)
    add("c1", "handoff_requested", reason="requested", ago=10)
    add("c1", "handoff_queued", "system", ago=10)
    add("c1", "handoff_claimed", "agent", agent_id="ben", ago=9)
    add("c1", text="I live at Hauptstr 5 Berlin", intent="nlu_fallback", confidence=0.2, ago=8)
    add("c1", text="its the red coat", intent="inform", confidence=0.3, ago=7)
    add("c1", "handoff_handed_back", "agent", agent_id="ben", ago=6)
    add("c1", text="what about returns", intent="faq_returns", confidence=0.4, ago=5)  # to the bot again
    items, _ = listed(inbox)
    assert set(items) == {"what about returns"}
    inbox.flag("c1", "its the red coat", "ben")
    items, _ = listed(inbox)
    assert set(items) == {"what about returns", "its the red coat"} and items["its the red coat"].reasons == ["flagged"]


def test_low_rated_conversations_list_what_the_bot_was_unsure_of(inbox, add):
    add("c1", text="can i change the colour", intent="change_order", confidence=0.7, ago=3)
    add("c1", text="thanks", intent="thank", confidence=0.99, ago=2)
    add("c1", "rating", csat=2, nps=8, ago=1)
    add("c2", text="can i change the size", intent="change_order", confidence=0.7, ago=3)
    add("c2", "rating", csat=5, nps=9, ago=1)
    add("c3", text="can i change the address", intent="change_order", confidence=0.7, ago=3)
    add("c3", "rating", csat=4, nps=3, ago=1)
    items, total = listed(inbox)
    assert set(items) == {"can i change the colour", "can i change the address"} and total == 2
    assert items["can i change the colour"].reasons == ["low_rating"]


def test_a_low_rating_after_a_hand_back_lists_what_the_bot_had_after_it(inbox, add):
    """Ratings are asked after an agent hands back (data/rules/handoff.yml): the realistic sequence."""
    add("c1", text="my refund never came", intent="refund_status", confidence=0.5, ago=20)
    add("c1", "handoff_requested", reason="requested", ago=19)
    add("c1", "handoff_queued", "system", ago=19)
    add("c1", "handoff_claimed", "agent", agent_id="ben", ago=18)
    add("c1", text="order was in march", intent="inform", confidence=0.3, ago=17)  # to ben
    add("c1", "handoff_handed_back", "agent", agent_id="ben", ago=10)
    add("c1", text="so is it sorted now", intent="affirm", confidence=0.5, ago=9)  # to the bot again
    add("c1", "rating", csat=1, nps=2, ago=8)
    items, _ = listed(inbox)
    assert set(items) == {"my refund never came", "so is it sorted now"}
    assert items["my refund never came"].reasons == ["unsure", "escalated"]
    assert items["so is it sorted now"].reasons == ["unsure", "low_rating"]


def test_near_identical_messages_are_one_group_with_the_latest_of_them(inbox, add):
    add("c1", text="Where is my order 100482?", intent="track_order", confidence=0.5, ago=30)
    add("c2", text="where is my order #271828", intent="track_order", confidence=0.4, ago=20)
    add("c3", text="WHERE IS MY ORDER   314159!!", intent="delivery_period", confidence=0.3, ago=10)
    add("c4", text="where is my order", intent="track_order", confidence=0.3, ago=40)  # no number: another group
    items, total = inbox.items()
    assert total == 2
    first = items[0]
    assert (first.text, first.count, first.conversation_id, first.intent, first.confidence) == (
        "WHERE IS MY ORDER   [order]!!", 3, "c3", "delivery_period", 0.3)
    assert first.key == "where is my order [order]" == group_key("where is my order #[order]")
    assert items[1].key == "where is my order"
    by_frequency, _ = inbox.items(order="frequent")
    assert [i.count for i in by_frequency] == [3, 1]


def test_order_search_paging_and_the_window(urls, add):
    for n in range(5):
        add(f"c{n}", text=f"question number {'abcde'[n]}", intent="faq_x", confidence=0.1, ago=n)
    for n in range(3):
        add(f"d{n}", text="do you gift wrap", intent="faq_x", confidence=0.1, ago=100 + n)
    add("old", text="an old question", intent="faq_x", confidence=0.1, ago=60 * 24 * 31)
    inbox = Inbox(*urls, confidence=0.6, days=30)
    page, total = inbox.items(limit=2, offset=1)
    assert total == 6 and [i.text for i in page] == ["question number b", "question number c"]
    frequent, _ = inbox.items(order="frequent", limit=1)
    assert frequent[0].text == "do you gift wrap" and frequent[0].count == 3
    found, total = inbox.items(search="GIFT")
    assert total == 1 and found[0].text == "do you gift wrap"
    assert inbox.items(search="an old question") == ([], 0)
    with pytest.raises(TrainingError, match="order"):
        inbox.items(order="random")
    inbox.close()


def test_resolved_groups_are_not_listed_again(inbox, add):
    add("c1", text="can I pay in bitcoin", intent="nlu_fallback", confidence=0.3)
    add("c2", text="do you have a student discount", intent="nlu_fallback", confidence=0.3)
    items, _ = inbox.items()
    inbox.resolve(items[0].key, "ignored", None, "anna")
    inbox.resolve(items[1].key, "applied", "check_payment_methods", "anna")
    add("c3", text="Can I pay in Bitcoin?", intent="nlu_fallback", confidence=0.2)
    assert inbox.items() == ([], 0)
    with pytest.raises(TrainingError):
        inbox.resolve("x", "maybe", None, "anna")
    with pytest.raises(TrainingError):
        inbox.resolve("x", "applied", None, "anna")


def test_a_flagged_message_is_listed_even_when_the_bot_was_sure(inbox, add):
    add("c1", text="I need it by friday", intent="delivery_period", confidence=0.97)
    add("c1", text="is it in stock", intent="faq_product_availability", confidence=0.98)
    assert inbox.items() == ([], 0)
    flag = inbox.flag("c1", "I need it by friday", "ben")
    assert flag["touchpoint_id"] and json.loads(json.dumps(flag)) == flag
    items, _ = listed(inbox)
    assert list(items) == ["I need it by friday"] and items["I need it by friday"].reasons == ["flagged"]
    assert items["I need it by friday"].confidence == 0.97
    with pytest.raises(TrainingError):
        inbox.flag("c1", 999999, "ben")


def test_an_agents_text_and_personal_data_never_reach_the_inbox(inbox, add, tmp_path):
    from bot.training import inbox_csv

    add("c1", text="mail me at anna.schmidt@mail.de, I'm Anna Kowalski", intent="nlu_fallback", confidence=0.2, ago=2)
    add("c1", "message", "agent", agent_id="ben", text="mail me at anna.schmidt@mail.de", ago=1)
    inbox.flag("c1", "mail me at anna.schmidt@mail.de", "ben")  # the agent's words: no visitor said them
    add("c1", "message", "agent", agent_id="ben", text="agent secret words", confidence=0.1)
    items, total = inbox.items()
    assert total == 1 and items[0].text == "mail me at [email], I'm [name] [name]"
    assert inbox.items(search="anna.schmidt") == ([], 0) and inbox.items(search="agent secret") == ([], 0)
    path = tmp_path / "inbox.csv"
    inbox_csv.export(inbox, path)
    written = path.read_text(encoding="utf-8")
    assert "anna" not in written.lower() and "agent secret" not in written and "[email]" in written
    assert "anna" not in json.dumps([i.public() for i in items]).lower()


@pytest.fixture
def project(tmp_path):
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "domain", tmp_path / "domain")
    (tmp_path / "var").mkdir()
    url = f"sqlite:///{tmp_path / 'var' / 'touchpoints.db'}"
    upgrade(url)
    now = dt.datetime.utcnow()
    rows = [row(cid, "message", "visitor", ConversationState(), now - dt.timedelta(minutes=n), intent="nlu_fallback",
                confidence=0.2, text=text) for n, (cid, text) in enumerate([
                    ("c1", "can I pay with crypto coins, mail me at zed@mail.org"), ("c2", "=HYPERLINK(\"x\")"),
                    ("c3", "do you gift wrap"), ("c4", "what about unicorns")])]
    with db.using(url) as engine, engine.begin() as conn:
        rollup.insert(conn, rows)
    db.dispose_all()
    return tmp_path


def run(project, *args):
    env = {**os.environ, ENV_VAR_DIR: str(project / "var"), ENV_TRAIN_DATA_DIR: str(project / "data"),
           ENV_TRAIN_DOMAIN_DIR: str(project / "domain")}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "bot", "inbox", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True)


def read(path):
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write(path, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_export_then_import_teaches_ignores_and_hides_what_was_decided(project):
    real = {p: p.read_bytes() for p in (ROOT / "data" / "nlu").glob("*.yml")}
    exported = run(project, "export", str(project / "inbox.csv"))
    assert exported.returncode == 0, exported.stderr
    rows = read(project / "inbox.csv")
    by_text = {r["text"]: r for r in rows}
    assert set(by_text) == {"can I pay with crypto coins, mail me at [email]", "'=HYPERLINK(\"x\")",
                            "do you gift wrap", "what about unicorns"}
    assert by_text["do you gift wrap"]["reasons"] == "unsure;fallback" and by_text["do you gift wrap"]["conversation"] == "c3"
    by_text["can I pay with crypto coins, mail me at [email]"]["decision"] = "check_payment_methods"
    by_text["do you gift wrap"]["decision"] = "ignore"
    by_text["'=HYPERLINK(\"x\")"]["decision"] = "ignore"
    write(project / "inbox.csv", rows)
    imported = run(project, "import", str(project / "inbox.csv"))
    assert imported.returncode == 0, imported.stderr
    assert "taught 1" in imported.stdout and "ignored 2" in imported.stdout and "left undecided 1" in imported.stdout
    nlu = NluData(project / "data", project / "domain")
    assert nlu.examples_of("check_payment_methods")[-1] == "can I pay with crypto coins, mail me at name@example.com"
    settings_db = f"sqlite:///{project / 'var' / 'bot.db'}"
    changes = TrainingChanges(settings_db, nlu)
    assert [(c.source, c.intent) for c in changes.history()] == [("import", "check_payment_methods")]
    inbox = Inbox(f"sqlite:///{project / 'var' / 'touchpoints.db'}", settings_db)
    assert [i.text for i in inbox.items()[0]] == ["what about unicorns"]
    changes.close(), inbox.close(), db.dispose_all()
    assert {p: p.read_bytes() for p in (ROOT / "data" / "nlu").glob("*.yml")} == real


@pytest.mark.parametrize("edit, why", [
    (lambda rows: [{k: v for k, v in r.items() if k != "decision"} for r in rows], "first line"),
    (lambda rows: [*rows[:-1], {**rows[-1], "decision": "no_such_intent"}], "line 5: 'no_such_intent' is no intent"),
    (lambda rows: [*rows[:-1], {**rows[-1], "decision": "Not An Intent!"}], "line 5: decision 'Not An Intent!'"),
    (lambda rows: [*rows[:-1], {**rows[-1], "key": ""}], "line 5: the key"),
    (lambda rows: [*rows[:-1], {**rows[-1], "text": "[x](y)", "decision": "greet"}], "line 5: .*entity annotation"),
])
def test_a_malformed_file_is_refused_whole(project, edit, why):
    from bot.training import inbox_csv

    settings_db = f"sqlite:///{project / 'var' / 'bot.db'}"
    inbox = Inbox(f"sqlite:///{project / 'var' / 'touchpoints.db'}", settings_db)
    changes = TrainingChanges(settings_db, NluData(project / "data", project / "domain"))
    inbox_csv.export(inbox, project / "inbox.csv")
    rows = read(project / "inbox.csv")
    rows[0]["decision"], rows[1]["decision"] = "greet", "ignore"
    write(project / "inbox.csv", edit(rows))
    before = {p: p.read_bytes() for p in (project / "data" / "nlu").glob("*.yml")}
    with pytest.raises(TrainingError, match=why):
        inbox_csv.apply(project / "inbox.csv", inbox, changes, "anna")
    assert {p: p.read_bytes() for p in (project / "data" / "nlu").glob("*.yml")} == before
    assert len(inbox.all_items()) == 4 and changes.history() == []
    inbox.close(), changes.close(), db.dispose_all()


def test_forgetting_a_customer_deletes_their_conversations_flags(inbox, add, urls):
    from bot.touchpoints.privacy import forget_customer

    add("c1", text="I need it by friday", intent="delivery_period", confidence=0.97)
    add("c2", text="I need it by monday", intent="delivery_period", confidence=0.97)
    inbox.flag("c1", "I need it by friday", "ben")
    inbox.flag("c2", "I need it by monday", "ben")
    removed = forget_customer(urls[1], urls[0], "customer-1", also=["c1"])
    assert removed["nlu_flags"] == 1
    with db.using(urls[1]) as engine, engine.connect() as conn:
        assert [r.conversation_id for r in conn.execute(sa.select(flags))] == ["c2"]
    items, _ = listed(inbox)
    assert list(items) == ["I need it by monday"]


def test_an_import_waits_for_another_process_holding_the_edit_lock(inbox, urls, tmp_path):
    import time

    from bot.training import inbox_csv

    for folder in ("data", "domain"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    changes = TrainingChanges(urls[1], NluData(tmp_path / "data", tmp_path / "domain"))
    path = tmp_path / "inbox.csv"
    inbox_csv.export(inbox, path)  # no rows: nothing decided
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from bot.training.nlu_data import editing\n"
        "with editing(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(1.5)\n"), str(tmp_path / "data")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        inbox_csv.apply(path, inbox, changes, "anna")
        assert time.monotonic() - start > 0.8
    finally:
        holder.wait(timeout=10)
        changes.close()
