"""Live handoff end to end on the real stack: Rasa, action server, console, Redis and SQL."""
import asyncio
import json
import threading
import time
import uuid

import pytest
import requests

from bot.console.visitor_link import VisitorLink
from bot.console.watcher import Watcher
from bot.handoff.queue import HandoffQueue
from bot.handoff.rasa_api import RasaApi
from bot.identity import sign
from tests.integration.conftest import Chat, Console, make_agent, set_everyone_offline
from tests.integration.test_widget_channel import Visitor, run

QUEUED = "connecting you with a person"


@pytest.fixture
def anna(stack, nobody_on_shift):
    return make_agent(stack, "anna", max_chats=5)


def signed_chat(stack, customer="C00001"):
    chat = Chat(stack)
    chat.metadata = {"customer": {"id": customer, "signature": sign(customer, stack.settings.identity_secret)}}
    return chat


def bot_texts_since(chat, mark):
    return [e.get("text") for e in chat.tracker()["events"][mark:] if e.get("event") == "bot"]


def test_nobody_on_shift_the_visitor_leaves_a_message_that_becomes_a_ticket(stack, nobody_on_shift):
    chat = Chat(stack)
    answer = chat.texts("can I talk to a real person please")
    assert "nobody from our team can take the chat" in answer[0] and "leave a message" in answer[1]
    assert "email address" in chat.text("yes")
    assert "doesn't look like an email" in chat.text("my email is anna at example")
    assert "What would you like to tell" in chat.text("anna@example.com")
    created = chat.text("My parcel 204518 arrived with a broken lid and I'd like a replacement")
    assert "reference T-" in created and "anna@example.com" in created
    reference = created.split("reference ")[1][:8]

    admin = Console(stack)
    ticket = next(t for t in admin.call("GET", "/api/tickets?status=open")["tickets"] if t["reference"] == reference)
    assert (ticket["email"], ticket["reason"], ticket["conversation_id"]) == ("anna@example.com", "no_agents", chat.sender)
    assert ticket["message"].startswith("My parcel 204518")
    answered = admin.call("POST", f"/api/tickets/{ticket['id']}/reply", {"reply": "A new lid is on its way."})["ticket"]
    assert (answered["status"], answered["reply"], answered["replied_by"]) == ("answered", "A new lid is on its way.", "admin")
    assert reference not in [t["reference"] for t in admin.call("GET", "/api/tickets?status=open")["tickets"]]


def test_an_upset_visitor_nobody_can_help_hears_an_apology_first_then_the_offer(stack, nobody_on_shift):
    chat = Chat(stack)
    offer = chat.texts("this is absolutely ridiculous, nobody answers my emails!!!")
    assert "Would you like me to get a person" in offer[0]
    answer = chat.texts("yes")
    assert "apologise for the trouble" in answer[0]  # the complaint is heard first...
    assert "nobody from our team can take the chat" in answer[1] and "leave a message" in answer[2]  # ...then the way out
    calm = Chat(stack).texts("can I talk to a real person please")  # a calm ask gets no apology it did not need
    assert "nobody from our team can take the chat" in calm[0] and len(calm) == 2


def test_a_low_rating_asks_what_went_wrong_and_the_agent_and_analytics_see_it(stack, anna):
    chat = Chat(stack)
    chat.say("I want to talk to a human")
    anna.call("POST", f"/api/conversations/{chat.sender}/claim")
    anna.call("POST", f"/api/conversations/{chat.sender}/handback", {})
    assert "recommend us" in chat.text("2")
    asked = chat.say("3")
    assert "What went wrong" in asked[0]["text"] and [b["title"] for b in asked[0]["buttons"]] == ["Skip"]
    comment = "Anna was friendly, but I still have no refund and nobody told me why"
    thanks = chat.text(comment)
    assert "Thank you for telling us" in thanks and "Thank you! That helps" not in thanks
    view = anna.call("GET", f"/api/conversations/{chat.sender}")
    assert (view["rating"]["csat"], view["rating"]["nps"], view["rating"]["comment"]) == (2, 3, comment)
    admin = Console(stack)
    figures = admin.call("GET", "/api/analytics")
    assert any(r["conversation_id"] == chat.sender and r["comment"] == comment for r in figures["low_ratings"])
    page = admin.http.get(f"{admin.base}/analytics", timeout=30).text
    assert "What went wrong" in page and 'id="low-ratings"' in page  # analytics.js fills it (the widget browser test)

    happy = Chat(stack)  # a high rating is thanked at once, with no question
    happy.say("I want to talk to a human")
    anna.call("POST", f"/api/conversations/{happy.sender}/claim")
    anna.call("POST", f"/api/conversations/{happy.sender}/handback", {})
    chat_said = happy.text("5")
    assert "recommend us" in chat_said and "Thank you! That helps" in happy.text("9")
    assert anna.call("GET", f"/api/conversations/{happy.sender}")["rating"]["comment"] is None


def test_an_agent_takes_over_replies_and_hands_back_and_the_bot_asks_for_a_rating_once(stack, anna):
    chat = signed_chat(stack)
    chat.say("where is my order")
    queued = chat.text("I want to talk to a human")
    assert QUEUED in queued and "number 1 in line" in queued
    waiting = next(h for h in anna.call("GET", "/api/queue")["waiting"] if h["conversation_id"] == chat.sender)
    assert (waiting["customer_id"], waiting["customer_verified"], waiting["reason"]) == ("C00001", True, "requested")
    assert waiting["intent"] == "track_order" and waiting["team"] == "orders" and waiting["eta_seconds"] > 0

    assert chat.say("hello? anyone there") == []  # the bot is paused: the agent will answer
    anna.call("POST", f"/api/conversations/{chat.sender}/claim")
    ben = make_agent(stack, "ben")
    taken = ben.call("POST", f"/api/conversations/{chat.sender}/claim", expect=409)
    assert taken["result"] == "taken"
    ben.call("POST", f"/api/conversations/{chat.sender}/messages", {"text": "me too"}, expect=409)  # not his

    anna.call("POST", f"/api/conversations/{chat.sender}/messages", {"text": "Hi, Anna here. Let me look."})
    view = anna.call("GET", f"/api/conversations/{chat.sender}")
    assert view["mine"] and view["paused"] and (view["customer"]["id"], view["customer"]["verified"]) == ("C00001", True)
    assert view["orders"] and all(o["number"].isdigit() for o in view["orders"])
    turns = [(t["sender"], t["text"]) for t in view["transcript"] if t["sender"] != "system"]
    assert turns[-3:] == [("bot", queued), ("visitor", "hello? anyone there"), ("agent", "Hi, Anna here. Let me look.")]
    assert view["transcript"][-1]["agent"] == {"id": "anna", "name": "Anna"}
    anna.call("POST", f"/api/conversations/{chat.sender}/notes", {"text": "asked twice about the parcel"}, expect=201)

    mark = len(chat.tracker()["events"])
    anna.call("POST", f"/api/conversations/{chat.sender}/handback", {"summary": "parcel is with DHL"})
    said = bot_texts_since(chat, mark)
    assert "back with me" in said[0] and "How happy were you" in said[1]
    assert "recommend us" in chat.text("4")
    assert "Thank you" in chat.text("9")
    view = anna.call("GET", f"/api/conversations/{chat.sender}")
    assert (view["rating"]["csat"], view["rating"]["nps"], view["rating"]["agent_id"]) == (4, 9, "anna")
    assert [n["text"] for n in view["notes"]] == ["asked twice about the parcel", "Hand-back summary: parcel is with DHL"]
    assert view["handoff"]["status"] == "closed" and not view["paused"]

    assert QUEUED in chat.text("actually, get me a person again")  # a second handoff...
    anna.call("POST", f"/api/conversations/{chat.sender}/claim")
    mark = len(chat.tracker()["events"])
    anna.call("POST", f"/api/conversations/{chat.sender}/handback", {})
    assert [t for t in bot_texts_since(chat, mark)] == ["You're back with me, Nora. If anything else comes up, just ask."]


def test_visitor_messages_during_a_handoff_are_all_in_the_tracker_in_order(stack, anna):
    chat = Chat(stack)
    chat.say("I need a human")
    sent = [f"message {i}: still there?" for i in range(10)]
    for text in sent[:5]:
        assert chat.say(text) == []
    anna.call("POST", f"/api/conversations/{chat.sender}/claim")
    for text in sent[5:]:
        assert chat.say(text) == []
    users = [e["text"] for e in chat.tracker()["events"] if e.get("event") == "user"]
    assert users[-10:] == sent
    anna.call("POST", f"/api/conversations/{chat.sender}/handback", {})


def test_the_widget_visitor_sees_the_agent_join_type_and_reply_and_the_agent_sees_the_visitor(stack, anna):
    events, stop = [], threading.Event()

    def listen():  # the agent's live event stream, as the console page reads it
        with anna.http.get(f"{anna.base}/api/events", stream=True, timeout=30) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                if stop.is_set():
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()

    async def scenario():
        visitor = await Visitor(stack).connect()
        try:
            session_id, _ = await visitor.start()
            assert QUEUED in (await visitor.say("let me speak to a person"))[0]["text"]
            mark = len(visitor.events)
            await asyncio.to_thread(anna.call, "POST", f"/api/conversations/{session_id}/claim")
            assert await visitor.wait_for("handoff", after=mark) == {"state": "active", "agent": "Anna"}
            await asyncio.to_thread(anna.call, "POST", f"/api/conversations/{session_id}/typing", {"on": True})
            assert await visitor.wait_for("typing", after=mark) == {"on": True, "who": "agent", "name": "Anna"}
            reply = {"text": "<b>Hi</b>, Anna here"}
            await asyncio.to_thread(anna.call, "POST", f"/api/conversations/{session_id}/messages", reply)
            assert await visitor.wait_for("bot_uttered", after=mark) == {"text": "<b>Hi</b>, Anna here", "agent": "Anna"}

            mark = len(visitor.events)
            await visitor.sio.emit("user_uttered", {"message": "thanks Anna, order 204518"})
            for _ in range(100):
                if any(e.get("type") == "message" and e.get("text") == "thanks Anna, order 204518" for e in events):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"the agent's stream never got the visitor's message: {events[-5:]}")
            await asyncio.sleep(0.5)
            assert [n for n, _ in visitor.events[mark:]] == []  # no bot answer, no 'no answer' notice

            mark = len(visitor.events)
            await asyncio.to_thread(anna.call, "POST", f"/api/conversations/{session_id}/handback", {})
            assert await visitor.wait_for("handoff", after=mark) == {"state": "bot"}
            rating = await visitor.wait_for("bot_uttered", after=mark)
            assert "back with me" in rating["text"]
        finally:
            await visitor.close()
            stop.set()
    run(scenario())
    kinds = [e["type"] for e in events]
    assert "claimed" in kinds and "handed_back" in kinds
    listener.join(timeout=15)  # the tab closes (the stream ends at its next ping)...
    for _ in range(100):  # ...and with it the agent's presence
        if status_of(anna, "anna") == "offline":
            break
        time.sleep(0.1)
    assert status_of(anna, "anna") == "offline"


def status_of(console, agent_id):
    return next(a["status"] for a in console.call("GET", "/api/queue")["agents"] if a["id"] == agent_id)


def test_a_long_wait_ends_with_an_apology_and_an_offer_to_leave_a_message(stack, anna):
    chat = Chat(stack)
    assert QUEUED in chat.text("human please")
    mark = len(chat.tracker()["events"])
    url = stack.settings.redis.url()

    async def tick():
        queue = HandoffQueue.from_url(url)
        rasa = RasaApi(stack.settings.rasa_url, stack.settings.rasa_token)
        try:
            watcher = Watcher(queue, VisitorLink(url), rasa, max_wait=0, auto_assign=False)
            await watcher.tick(now=time.time() + 1)
            return await queue.status(chat.sender)
        finally:
            await rasa.close()
            await queue.close()
    assert asyncio.run(tick()) == "expired"
    said = bot_texts_since(chat, mark)
    assert "sorry for the wait" in said[0] and "leave a message" in said[1]
    assert "email address" in chat.text("yes please")


def test_auto_assign_gives_the_next_visitor_to_the_least_loaded_agent(stack, anna):
    ben = make_agent(stack, "ben")
    url = stack.settings.redis.url()
    busy = Chat(stack)
    busy.say("human please")
    anna.call("POST", f"/api/conversations/{busy.sender}/claim")  # anna has one, ben none
    chat = Chat(stack)
    chat.say("a real person please")

    async def tick():
        queue = HandoffQueue.from_url(url)
        rasa = RasaApi(stack.settings.rasa_url, stack.settings.rasa_token)
        try:
            await Watcher(queue, VisitorLink(url), rasa, max_wait=3600, auto_assign=True).tick()
            return (await queue.get(chat.sender)).agent_id
        finally:
            await rasa.close()
            await queue.close()
    assert asyncio.run(tick()) == "ben"
    ben.call("POST", f"/api/conversations/{chat.sender}/handback", {})
    anna.call("POST", f"/api/conversations/{busy.sender}/handback", {})


def test_transfer_to_another_agent_and_to_a_team(stack, anna):
    ben = make_agent(stack, "ben")
    chat = Chat(stack)
    chat.say("i want a human")
    anna.call("POST", f"/api/conversations/{chat.sender}/claim")
    assert anna.call("POST", f"/api/conversations/{chat.sender}/transfer", {"agent": "ben"})["result"] == "transferred"
    ben.call("POST", f"/api/conversations/{chat.sender}/messages", {"text": "Ben here, I'll take it from here"})
    assert ben.call("POST", f"/api/conversations/{chat.sender}/transfer", {"team": "payments"})["result"] == "requeued"
    waiting = next(h for h in anna.call("GET", "/api/queue")["waiting"] if h["conversation_id"] == chat.sender)
    assert waiting["team"] == "payments" and waiting["position"] >= 1
    ben.call("POST", f"/api/conversations/{chat.sender}/transfer", {"team": "nowhere"}, expect=400)
    anna.call("POST", f"/api/conversations/{chat.sender}/claim")
    anna.call("POST", f"/api/conversations/{chat.sender}/handback", {})


def test_the_console_keeps_agents_out_until_they_sign_in_properly(stack):
    base = stack.settings.console_url
    assert requests.get(f"{base}/api/queue", timeout=10).status_code == 401
    page = requests.get(f"{base}/", timeout=10, allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"] == "/login"
    login = requests.get(f"{base}/login", timeout=10)
    assert "default-src 'self'" in login.headers["Content-Security-Policy"] and login.headers["X-Frame-Options"] == "DENY"
    wrong = requests.post(f"{base}/api/login", json={"username": "admin", "password": "guess"}, timeout=10)
    assert wrong.status_code == 401 and "console_session" not in wrong.cookies
    form = requests.post(f"{base}/api/login", data={"username": "admin", "password": "x"}, timeout=10)
    assert form.status_code == 415  # a cross-site form cannot sign anyone in

    admin = Console(stack)
    cookie = next(c for c in admin.http.cookies if c.name == "console_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "Strict"
    no_csrf = admin.http.post(f"{base}/api/presence", json={"status": "away"}, timeout=10)
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json()["error"]

    agent = make_agent(stack, "carl")
    agent.call("GET", "/api/users", expect=403)
    agent.call("POST", "/api/canned", {"title": "x", "text": "y"}, expect=403)
    agent.call("POST", "/api/logout")
    agent.call("GET", "/api/queue", expect=401)
    set_everyone_offline(stack)

    for _ in range(10):
        requests.post(f"{base}/api/login", json={"username": "mallory", "password": "wrong-password"}, timeout=10)
    locked = requests.post(f"{base}/api/login", json={"username": "mallory", "password": "wrong-password"}, timeout=10)
    assert locked.status_code == 429


def test_admins_manage_users_and_canned_answers(stack):
    admin = Console(stack)
    dora = f"dora-{uuid.uuid4().hex[:8]}"  # the database may outlive one test run (CI's PostgreSQL)
    made = admin.call("POST", "/api/users", {"username": dora, "password": "dora-password-1", "name": "Dora",
                                             "role": "trainer", "teams": "payments,orders", "max_chats": 2}, expect=201)
    assert made["user"]["teams"] == ["orders", "payments"] and made["user"]["role"] == "trainer"
    assert "taken" in admin.call("POST", "/api/users", {"username": dora, "password": "dora-password-1"}, expect=400)["error"]
    assert "password" in admin.call("POST", "/api/users", {"username": "eve", "password": "short"}, expect=400)["error"]
    admin.call("PATCH", f"/api/users/{made['user']['id']}", {"active": False})
    assert requests.post(f"{stack.settings.console_url}/api/login", json={"username": dora, "password": "dora-password-1"},
                         timeout=10).status_code == 401
    me = admin.call("GET", "/api/me")["user"]
    admin.call("PATCH", f"/api/users/{me['id']}", {"role": "agent"}, expect=400)  # no locking yourself out

    titles = [c["title"] for c in admin.call("GET", "/api/canned")["canned"]]
    assert "Greeting" in titles
    refund = {"title": "Refund sent", "text": "Your refund is on its way."}
    saved = admin.call("POST", "/api/canned", refund, expect=201)["canned"]
    admin.call("PUT", f"/api/canned/{saved['id']}", {"title": "Refund sent", "text": "Your refund left today."})
    edited = {"id": saved["id"], "title": "Refund sent", "text": "Your refund left today."}
    assert edited in admin.call("GET", "/api/canned")["canned"]
    admin.call("POST", "/api/canned", {"title": "Refund sent", "text": "dup"}, expect=409)
    admin.call("DELETE", f"/api/canned/{saved['id']}")
    assert "Refund sent" not in [c["title"] for c in admin.call("GET", "/api/canned")["canned"]]


def test_a_console_restart_mid_chat_loses_nothing(stack, anna):
    chat = Chat(stack)
    chat.say("i want to talk to someone from your team")
    anna.call("POST", f"/api/conversations/{chat.sender}/claim")
    anna.call("POST", f"/api/conversations/{chat.sender}/messages", {"text": "before the restart"})
    console = next(c for c in stack.children if c.name == "agent console")
    console.process.kill()
    console.process.wait()
    chat.say("are you still there?")  # the visitor writes while the console is down
    assert stack.revive() == ["agent console"]
    console.wait_healthy(time.monotonic() + 60)
    anna.call("POST", f"/api/conversations/{chat.sender}/messages", {"text": "after the restart"})  # same sign-in
    view = anna.call("GET", f"/api/conversations/{chat.sender}")
    assert view["mine"] and view["handoff"]["agent_id"] == "anna"
    texts = [t["text"] for t in view["transcript"]]
    assert texts[-3:] == ["before the restart", "are you still there?", "after the restart"]
    anna.call("POST", f"/api/conversations/{chat.sender}/handback", {})
