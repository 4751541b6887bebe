"""Frustration on the running stack: every parse carries a score; a frustrated visitor is offered a person,
and their conversation goes into the queue with its reason, signals and a higher priority."""
from tests.integration.conftest import Chat, make_agent, parse


def test_every_parse_result_carries_a_frustration_score(stack):
    calm = parse(stack, "what does it cost to cancel an order")["frustration"]
    angry = parse(stack, "this is ridiculous, third time I ask!!!")["frustration"]
    assert calm["signals"] == [] and 0 <= calm["score"] < 0.1  # the blend ranks every message; no sign, nothing to act on
    assert angry["score"] >= 0.5 and {"anger", "repetition", "punctuation"} <= {s["name"] for s in angry["signals"]}
    assert all(set(s) == {"name", "weight", "evidence"} for s in angry["signals"])


def test_a_frustrated_visitor_is_offered_a_person_and_jumps_the_queue(stack, nobody_on_shift):
    agent = make_agent(stack, "fran")
    calm = Chat(stack)
    assert "connecting you with a person" in calm.text("can I talk to a person please")

    angry = Chat(stack)
    offer = angry.say("this is absolutely ridiculous, nobody answers my emails!!!")
    assert "Would you like me to get a person" in offer[0]["text"]
    assert "frustrat" not in offer[0]["text"].lower()  # never told how they were classified
    queued = angry.text("yes")
    assert queued.startswith("I'm sorry about this") and "number 1 in line" in queued

    waiting = agent.call("GET", "/api/queue")["waiting"]
    order = [h["conversation_id"] for h in waiting]
    assert order.index(angry.sender) < order.index(calm.sender)  # came later, goes first
    entry = waiting[order.index(angry.sender)]
    assert entry["reason"] == "frustration" and entry["frustration"] >= 0.5 and entry["priority"] > 0
    assert {"anger", "service_failure"} <= {s["name"] for s in entry["signals"]}
    for chat in (angry, calm):
        agent.call("POST", f"/api/conversations/{chat.sender}/claim")
        agent.call("POST", f"/api/conversations/{chat.sender}/handback", {})


def test_one_rude_word_in_a_good_conversation_is_not_an_emergency(stack):
    chat = Chat(stack)
    chat.say("hi")
    answer = chat.text("the damn discount code doesn't work")
    assert "get a person" not in answer
