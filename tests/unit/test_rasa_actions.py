"""Rasa's check of action server responses, with the schema compiled once: the same verdicts as Rasa's."""
import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, BotUttered, FollowupAction, SessionStarted, SlotSet, UserUttered

from bot import rasa_actions

GOOD = [
    {"events": [], "responses": []},
    {"events": [e.as_dict() for e in (SlotSet("order", "100943"), SessionStarted(), ActionExecuted("action_listen"),
                                      FollowupAction("utter_greet"), BotUttered("hi", {"buttons": []}),
                                      UserUttered("hello", {"name": "greet"}))],
     "responses": [{"text": "hi"}, {"template": "utter_greet"}]},
]
BAD = [
    {"events": [{"event": 3}]},
    {"events": [{"event": "slot", "timestamp": "yesterday"}]},
    {"events": "not a list"},
    {"responses": [1, 2]},
]


@pytest.fixture
def action():
    return RemoteAction.__new__(RemoteAction)  # validation reads no state of the action


@pytest.mark.parametrize("response", GOOD)
def test_a_valid_response_passes_as_it_does_in_rasa(action, response):
    jsonschema.validate(response, RemoteAction.action_response_format_spec())  # Rasa's verdict
    assert rasa_actions.validate_action_result(action, response) is True


@pytest.mark.parametrize("response", BAD)
def test_an_invalid_response_raises_rasa_s_error_with_its_message(action, response):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(response, RemoteAction.action_response_format_spec())  # Rasa's verdict
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        rasa_actions.validate_action_result(action, response)


def test_install_makes_remote_actions_use_it(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    rasa_actions.install()
    assert RemoteAction._validate_action_result is rasa_actions.validate_action_result
