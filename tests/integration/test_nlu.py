"""Fresh phrasings (not in the training data) for every request the bot must know."""
from collections import Counter

import pytest

from bot.settings import ROOT
from tests.integration.conftest import parse

UNSEEN = {
    "cancel_order": ["please cancel the order I made yesterday", "cancel #100912 I don't need it"],
    "change_order": ["can I swap the medium for a small in my order", "add a second mug to order 100345"],
    "change_shipping_address": ["my order should go to my new flat, not the old one", "wrong street on the parcel, please fix"],
    "check_cancellation_fee": ["does it cost anything to cancel", "what will you charge me for cancelling"],
    "check_invoice": ["I want to view the invoices in my account", "the VAT on my invoice looks wrong"],
    "check_payment_methods": ["can I pay with my visa card", "which payment options do you support"],
    "check_refund_policy": ["how many days do I have to send things back", "can you explain the return rules"],
    "complaint": ["I wish to file a formal complaint", "your delivery service is a disgrace"],
    "contact_customer_service": ["what's the support hotline number", "how do I email customer support"],
    "contact_human_agent": ["put me through to a real human", "I want to chat with a person"],
    "create_account": ["how can I sign up for an account", "I'd like to register with your shop"],
    "delete_account": ["please remove my account completely", "I want my profile deleted"],
    "delivery_options": ["can I get express shipping", "do you deliver to parcel lockers"],
    "delivery_period": ["how many days until it arrives if I order now", "how long is standard delivery"],
    "edit_account": ["I need to change the email address in my profile", "update my phone number please"],
    "get_invoice": ["email me the invoice for my purchase", "I need a copy of my receipt"],
    "get_refund": ["I want my money back for the broken lamp", "please refund me"],
    "newsletter_subscription": ["take me off your mailing list", "I want to receive the newsletter"],
    "payment_issue": ["my card payment keeps getting declined", "you charged my card two times"],
    "place_order": ["how do I buy the grey sneakers", "I want to order a new kettle"],
    "recover_password": ["I can't remember my login password", "send me a link to reset my password"],
    "registration_problems": ["the sign up page shows an error", "I never received the account activation email"],
    "review": ["where can I rate the product I bought", "I want to write a review of the boots"],
    "set_up_shipping_address": ["how do I save a second address in my account", "add my office address to my profile"],
    "switch_account": ["how do I log into my other account", "I'm signed in with the wrong account"],
    "track_order": ["where's my package, I ordered last week", "has order 100400 been shipped"],
    "track_refund": ["I still haven't got my refund", "when does the refund reach my account"],
    "faq_opening_hours": ["what time does the store open on saturday", "are you open on easter monday"],
    "faq_warranty": ["is my broken kettle covered by warranty", "how long is the guarantee on the speakers"],
    "faq_gift_cards": ["can I buy a gift voucher", "do you sell vouchers I can give as a present"],
    "faq_size_guide": ["I'm between a 40 and a 41, which should I take", "are the sneakers narrow or wide"],
    "faq_privacy": ["do you pass my details on to third companies", "is my address kept private"],
    "faq_shipping_cost": ["how much does sending it to me cost", "what do I pay for shipping on a 20 euro order"],
    "faq_international_shipping": ["do you deliver to the United States", "can I order from Switzerland"],
    "faq_store_location": ["is there a Northwind shop I can walk into", "what street is your store on"],
    "faq_promo_codes": ["the voucher code from my email gives an error", "got any discount for me"],
    "faq_product_availability": ["will the linen shirt be available again", "do you still have the desk lamp in stock"],
    "faq_price_match": ["another website has this for 15 euros less", "it got cheaper two days after my purchase"],
    "faq_guest_checkout": ["is it ok to buy without making a profile", "do I really need to sign up before paying"],
    "faq_sustainability": ["how environmentally friendly are your parcels", "is the t-shirt made from sustainable fabric"],
    "chitchat_ask_name": ["may I ask your name"],
    "chitchat_bot_challenge": ["is this a human or a machine answering"],
    "chitchat_capabilities": ["what sort of things can I ask you"],
    "greet": ["good day to you", "hi, I hope you can help"],
    "goodbye": ["ok bye for now", "catch you later"],
    "thank": ["thanks a bunch"],
    "out_of_scope": ["who painted the mona lisa", "how do I bake sourdough bread"],
}


def test_test_phrases_are_not_training_examples():
    # an honest test: none of these phrasings may be in data/nlu
    trained = {
        line.strip()[2:].strip().lower()
        for path in (ROOT / "data" / "nlu").glob("*.yml")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("- ") and "intent:" not in line
    }
    leaked = [text for texts in UNSEEN.values() for text in texts if text.lower() in trained]
    assert not leaked, leaked


@pytest.fixture(scope="module")
def predictions(stack):
    """(expected, text) -> (the classifier's own top intent, what the bot acts on, its confidence)."""
    out = {}
    for intent, texts in UNSEEN.items():
        for text in texts:
            result = parse(stack, text)
            own = next(r["name"] for r in result["intent_ranking"] if r["name"] != "nlu_fallback")
            out[(intent, text)] = (own, result["intent"]["name"], result["intent"]["confidence"])
    return out


def test_fresh_phrasings_are_understood(predictions):
    wrong = {text: (intent, own) for (intent, text), (own, _, _) in predictions.items() if own != intent}
    accuracy = 1 - len(wrong) / len(predictions)
    assert accuracy >= 0.9, f"accuracy {accuracy:.2f}; misses (expected, got): {wrong}"


def test_no_request_is_missed_entirely(predictions):
    right = Counter(intent for (intent, _), (own, _, _) in predictions.items() if own == intent)
    missed = [intent for intent in UNSEEN if right[intent] == 0]
    assert not missed, f"never recognised: {missed}"


def test_wrong_answers_are_rare(predictions):
    # below the confidence threshold the bot asks to rephrase: that is allowed, a wrong answer hardly
    wrong = {text: served for (intent, text), (_, served, _) in predictions.items() if served not in (intent, "nlu_fallback")}
    assert len(wrong) / len(predictions) <= 0.03, wrong


def test_a_wrong_guess_is_not_confident(predictions):
    for (intent, text), (_, served, confidence) in predictions.items():
        if served not in (intent, "nlu_fallback"):
            assert confidence < 0.9, f"{text!r}: confidently wrong as {served} ({confidence:.2f})"


def test_batched_parses_are_the_one_by_one_parses():
    """bot.training.evaluate.predict runs the NLU graph on many messages at once (evaluations, benchmarks): it must
    give what the server's one-message parse gives, blind texts, order numbers and fallbacks included."""
    import asyncio

    from rasa.core.agent import Agent

    from bot.training.evaluate import BLIND_SET, load_blind, predict

    model = ROOT / "models" / "current.tar.gz"
    texts = [text for text, _ in load_blind(BLIND_SET)[::9]] + ["asdf qwerty", "where is #100912", "", "/greet"]
    batched = predict(model, texts, batch=16)
    agent = Agent.load(str(model))
    one_by_one = asyncio.run(_parse_each(agent, texts))
    assert len(batched) == len(one_by_one) == len(texts) > 100
    for mine, theirs in zip(batched, one_by_one, strict=True):
        assert mine["intent"]["name"] == theirs["intent"]["name"], mine["text"]
        assert mine["intent"]["confidence"] == pytest.approx(theirs["intent"]["confidence"], abs=1e-4)
        assert mine["entities"] == theirs["entities"]
        assert mine.get("frustration") == theirs.get("frustration")


async def _parse_each(agent, texts):
    return [await agent.parse_message(text) for text in texts]
