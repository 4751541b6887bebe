"""The frustration policy's decision on real Rasa trackers (no model): an angry rating comment is stored, not handed over."""
from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.frustration.policy import HANDOVER_ACTION, FrustrationPolicy

FURIOUS = {"score": 0.97, "signals": [{"name": "anger", "weight": 0.9, "evidence": "useless"},
                                      {"name": "shouting", "weight": 0.55, "evidence": "USELESS!!!"}]}


def policy() -> FrustrationPolicy:
    made = FrustrationPolicy.__new__(FrustrationPolicy)  # decide() needs only the thresholds
    made.offer_at, made.handover_at = 0.5, 0.8
    return made


def furious_after(*events) -> DialogueStateTracker:
    text = "USELESS!!! nobody helped me, this is absolutely ridiculous"
    parse = {"text": text, "intent": {"name": "complaint", "confidence": 0.9}, "entities": [], "frustration": FURIOUS}
    return DialogueStateTracker.from_events("visitor", [*events, ActionExecuted("action_listen"),
                                                        UserUttered(text, parse["intent"], [], parse)])


def test_a_furious_visitor_is_handed_over():
    assert policy().decide(furious_after()) == HANDOVER_ACTION


def test_a_furious_answer_to_the_rating_form_is_the_rating_comment():
    assert policy().decide(furious_after(ActionExecuted("rating_form"), ActiveLoop("rating_form"))) is None
