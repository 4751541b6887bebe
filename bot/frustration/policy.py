"""The dialogue side: right after each visitor message, score the conversation so far and, above the
thresholds, offer a person (FRUSTRATION_OFFER_AT) or hand over at once (FRUSTRATION_HANDOVER_AT).

It outranks the other policies only when it acts; otherwise it abstains (all zeros). It leaves alone
what rules already handle: misses (the fallback rules offer a person), explicit asks for a person,
answers to an offer, and forms, unless the score is high enough to hand over."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.frustration.conversation import conversation_frustration, current_stretch
from bot.frustration.signals import score_message
from bot.settings import get_settings

OFFER_ACTION = "utter_offer_help"
HANDOVER_ACTION = "action_request_human"
LEFT_TO_RULES = {"nlu_fallback", "contact_human_agent", "contact_customer_service", "affirm", "deny",
                 "leave_message", "handoff_finished", "handoff_expired", "goodbye"}
OFFERS = {OFFER_ACTION, "utter_offer_human"}  # either offer, once made (and perhaps declined), is not repeated
RATING_FORM = "rating_form"
PRIORITY = 5  # above RulePolicy (4): when this policy speaks, it wins ties


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class FrustrationPolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"priority": PRIORITY}

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, featurizer: Optional[Any] = None) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        settings = get_settings()
        self.offer_at, self.handover_at = settings.frustration_offer_at, settings.frustration_handover_at

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        with self._model_storage.write_to(self._resource):
            pass  # nothing to learn: the thresholds are settings
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: Optional[Dict[str, Any]] = None, **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = self.decide(tracker)
        if action and action in domain.action_names_or_texts:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)

    def decide(self, tracker: DialogueStateTracker) -> Optional[str]:
        if not isinstance(tracker.events[-1] if tracker.events else None, UserUttered):
            return None  # only right after the visitor spoke, once per turn
        if tracker.latest_action_name != ACTION_LISTEN_NAME or tracker.is_paused():
            return None
        if (tracker.latest_message.intent or {}).get("name") in LEFT_TO_RULES:
            return None
        if tracker.active_loop_name == RATING_FORM:
            return None  # rating the help just given: however angry, the words are the answer, stored for the team
        events = [e.as_dict() for e in tracker.events_after_latest_restart()]
        acted = {e.get("name") for e in current_stretch(events) if e.get("event") == "action"}
        if HANDOVER_ACTION in acted:
            return None
        score, _ = conversation_frustration(events)
        if score.score >= self.handover_at:
            return HANDOVER_ACTION
        offered = bool(acted & OFFERS)
        if score.score < self.offer_at or offered or tracker.active_loop_name:
            return None
        # an offer takes this turn's answer's place: only when this message itself shows trouble (or complains);
        # a calm request is answered, and the offer waits for the next sign
        known = (tracker.latest_message.parse_data or {}).get("frustration")
        signs = known.get("signals") if isinstance(known, dict) else score_message(tracker.latest_message.text or "").signals
        intent = (tracker.latest_message.intent or {}).get("name")
        if signs or intent in ("complaint", "out_of_scope"):
            return OFFER_ACTION
        return None

