"""The ticket form's email: a real syntax check (email-validator, no DNS), a clear re-ask, nothing lost."""
import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.tickets import ValidateTicketForm
from bot.handoff.mail import checked_address, email_in
from bot.settings import ROOT

BAD = [
    "anna@example",  # no dot in the domain
    "anna@example.c",  # a one-letter top level
    "a,b@example.com",  # two recipients in one To header
    "x@y.com,victim@example.com",
    "anna..b@example.com",
    "anna@ex_ample.com",
    "anna@-example.com",
    "anna@exam ple.com",
    "anna@@example.com",
    "anna at example dot com",
    "my email is anna",
    "",
]
GOOD = [
    ("anna@example.com", "anna@example.com"),
    ("my email is Anna@Example.COM.", "Anna@example.com"),  # the domain is lower-cased, the sentence's dot dropped
    ("(ben.oneil+shop@mail.example.co.uk)", "ben.oneil+shop@mail.example.co.uk"),
    ("<anna@example.com>", "anna@example.com"),
    ("mailto:anna@example.com", "anna@example.com"),
    ("x@münchen.de", "x@münchen.de"),
    ("it's anna@example.com\nBcc: eve@example.com", "anna@example.com"),  # only the address, never the rest
]


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain")).as_dict()


def answer_to_email_question(text, domain, slots=None):
    slots = {"requested_slot": "ticket_email", **(slots or {})}
    message = {"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": [], "metadata": {}}
    tracker = Tracker("visitor", slots, message, [{"event": "user", "text": text, "parse_data": message}],
                      False, None, {"name": "ticket_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateTicketForm().run(dispatcher, tracker, domain))
    return [m["response"] for m in dispatcher.messages], {e["name"]: e["value"] for e in events if e["event"] == "slot"}


@pytest.mark.parametrize("text", BAD)
def test_a_bad_email_is_refused_with_a_clear_re_ask(text, domain):
    said, slots = answer_to_email_question(text, domain)
    assert said == ["utter_ticket_email_invalid"] and slots["ticket_email"] is None
    assert "like name@example.com" in domain["responses"]["utter_ticket_email_invalid"][0]["text"]


@pytest.mark.parametrize("text,stored", GOOD)
def test_a_good_email_is_taken_as_the_address_alone(text, stored, domain):
    said, slots = answer_to_email_question(text, domain)
    assert said == [] and slots["ticket_email"] == stored


def test_a_bad_email_keeps_what_the_visitor_already_wrote(domain):
    said, slots = answer_to_email_question("anna@example", domain, {"ticket_message": "My lid is broken"})
    assert said == ["utter_ticket_email_invalid"] and "ticket_message" not in slots  # not cleared


def test_a_message_written_with_a_bad_address_is_kept_and_only_the_address_asked_again(domain):
    text = "anna@example my parcel 204518 arrived with a broken lid,\nplease send a new one"
    said, slots = answer_to_email_question(text, domain)
    assert said == ["utter_ticket_email_invalid"] and slots["ticket_email"] is None
    assert slots["ticket_message"] == "my parcel 204518 arrived with a broken lid,\nplease send a new one"
    said, slots = answer_to_email_question("anna@example.com", domain, {"ticket_message": slots["ticket_message"]})
    assert said == [] and slots == {"ticket_email": "anna@example.com"}  # the message stays as it was


@pytest.mark.parametrize("text", ["you can reach me at anna@example.com", "my email is anna@example.com thanks",
                                  "my parcel arrived broken and nobody answers my emails at all"])
def test_a_short_sentence_around_an_address_or_text_without_one_is_not_taken_for_the_message(text, domain):
    _, slots = answer_to_email_question(text, domain)
    assert "ticket_message" not in slots


def test_the_check_is_the_same_for_the_sender_side():
    assert checked_address("anna@example.com") == "anna@example.com"
    assert checked_address("anna@example.com\r\nBcc: eve@example.com") is None
    assert checked_address("Anna <anna@example.com>") is None
    assert email_in("write to anna@example or anna@example.com") == "anna@example.com"
