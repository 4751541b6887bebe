from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.tracker.misses import consecutive_misses

MISSES_BEFORE_OFFERING_HUMAN = 2


class ActionCheckRepeatedMiss(Action):
    """Set `repeated_miss` when the bot has missed twice in a row (not understood or out of scope, in any mix).

    The rules in data/rules/fallback.yml branch on it: rephrase, or offer a person.
    """

    def name(self) -> str:
        return "action_check_repeated_miss"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        repeated = consecutive_misses(tracker.events) >= MISSES_BEFORE_OFFERING_HUMAN
        return [SlotSet("repeated_miss", repeated)]
