"""The NLU inbox: which visitor messages are listed and why, grouped and masked; never an agent's text."""
import datetime as dt
import json

import pytest

from bot import db
from bot.touchpoints import rollup
from bot.touchpoints.events import ConversationState, row
from bot.touchpoints.models import upgrade
from bot.training.changes import TrainingError
from bot.training.inbox import Inbox, group_key

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
    assert "my parcel is damaged" not in items and items["the box was wet"].reasons == ["unsure"]


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
