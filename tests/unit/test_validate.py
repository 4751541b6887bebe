from bot.settings import ROOT
from bot.training.validate import form_questions, responses_named_in, warnings_in

OUTPUT = """\
/x/rasa/shared/utils/io.py:100: UserWarning: The utterance 'utter_unused' is not used in any story or rule.
/x/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call to `pkg_resources.declare_namespace('mpl')`.
2026-11-26 INFO rasa.validator - Validating intents...
/x/rasa/shared/utils/io.py:100: UserWarning: Issue found in 'data/rules/basics.yml':
"""


def test_only_rasa_user_warnings_count():
    assert warnings_in(OUTPUT) == [
        "The utterance 'utter_unused' is not used in any story or rule.",
        "Issue found in 'data/rules/basics.yml':",
    ]


def test_responses_named_by_actions_and_forms_are_known():
    named = responses_named_in((ROOT / "actions").glob("*.py"))
    assert {"utter_orders_unavailable", "utter_confirm_cancel", "utter_order_status_shipped"} <= named
    assert "utter_goodbye" not in named  # a rule says that one
    assert "utter_ask_new_address" in form_questions(ROOT / "domain")
