"""Shipping answers name the country's zone and price (shop/facts.yml), found by the country entity."""
import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.shipping import ActionAnswerShipping
from bot import shop
from bot.nlu.countries import ALIASES
from bot.nlu.entities import find_entities
from bot.settings import ROOT

FACTS = shop.facts()


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain")).as_dict()


def answer(text, intent, domain):
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": find_entities(text)}
    tracker = Tracker("visitor", {}, message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerShipping().run(dispatcher, tracker, domain))
    return dispatcher.messages


def rendered(message, domain):
    return domain["responses"][message["response"]][0]["text"].format(**message)


@pytest.mark.parametrize("text, country", [
    ("do you ship to switzerland and how much does it cost", "Switzerland"), ("delivery to Germany", "Germany"),
    ("can I order from the U.K.?", "the United Kingdom"), ("Versand nach Österreich", "Austria"),
    ("ship it to the usa", "the United States"),
])
def test_countries_are_found_by_name(text, country):
    assert [e["value"] for e in find_entities(text) if e["entity"] == "country"] == [country]


@pytest.mark.parametrize("text", ["do you ship to us", "mail me at anna@example.ch", "I speak english"])
def test_no_country_where_none_is_named(text):
    assert not [e for e in find_entities(text) if e["entity"] == "country"]


def test_switzerland_gets_its_zone_and_price(domain):
    [message] = answer("do you ship to switzerland and how much does it cost", "faq_shipping_cost", domain)
    text = rendered(message, domain)
    assert "Switzerland" in text and "non-EU" in text and "19.90 EUR" in text and "import duties" in text


def test_germany_is_said_to_be_domestic(domain):
    [message] = answer("delivery to Germany", "delivery_options", domain)
    text = rendered(message, domain)
    assert "domestic" in text and f"{FACTS['standard_shipping_cost']} EUR" in text


def test_a_country_we_do_not_serve_gets_a_clear_no(domain):
    [message] = answer("do you deliver to japan", "faq_international_shipping", domain)
    assert message["response"] == "utter_shipping_country_not_served" and "Japan" in rendered(message, domain)


def test_each_country_named_gets_its_line(domain):
    messages = answer("can you send orders to austria and switzerland", "faq_international_shipping", domain)
    assert [m["zone"] for m in messages] == ["EU", "non-EU"]


@pytest.mark.parametrize("intent", ["delivery_options", "delivery_period", "faq_shipping_cost",
                                    "faq_international_shipping"])
def test_without_a_country_the_general_answer(intent, domain):
    assert [m["response"] for m in answer("how much is it", intent, domain)] == [f"utter_{intent}"]


def test_the_zones_name_known_countries_once_and_agree_with_the_domestic_prices():
    zones = FACTS["shipping_zones"]
    listed = [c for zone in zones for c in zone["countries"]]
    assert len(listed) == len(set(listed)) and set(listed) <= set(ALIASES)
    assert {"zone", "countries", "cost", "free_from", "delivery", "note"} <= set().union(*zones)
    domestic = shop.shipping_zone("Germany", FACTS)
    assert domestic["cost"] == FACTS["standard_shipping_cost"]
    assert domestic["free_from"] == FACTS["free_shipping_threshold"]
    assert all(len(str(zone["cost"]).split(".")[1]) == 2 for zone in zones)  # money as written


def test_the_classifier_sees_every_country_as_one_placeholder():
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.tokenizer import MaskingWhitespaceTokenizer

    tokenizer = MaskingWhitespaceTokenizer(MaskingWhitespaceTokenizer.get_default_config())
    seen = [[t.text for t in tokenizer.tokenize(Message({"text": text}), "text")]
            for text in ("delivery to Germany", "delivery to Italy", "delivery to the United Kingdom")]
    assert seen == [["delivery", "to", "__country__"]] * 2 + [["delivery", "to", "the", "__country__", "__country__"]]
