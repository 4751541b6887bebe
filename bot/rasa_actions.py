"""Rasa's check of the action server's answers, with its JSON schema compiled once instead of at every call.

Rasa 3.6's RemoteAction validates every response with `jsonschema.validate(result, schema)`, and `validate`
first checks the schema itself against the JSON Schema meta-schema: for Rasa's events schema that is ~45 ms of
CPU per custom action call (profiled under load: two thirds of a turn's CPU in the Rasa process). The schema
never changes, so it is checked once here and the same validator reused; the responses are validated exactly as
before (same schema, same validator class, same best_match error, same message added to it).
"""
from __future__ import annotations

import functools
from typing import Any, Dict

from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction


@functools.lru_cache(maxsize=1)
def response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # what jsonschema.validate does at every call, done once
    return cls(schema)


_rasa_validate = RemoteAction._validate_action_result  # Rasa's, kept for its error message


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    if best_match(response_validator().iter_errors(result)) is None:
        return True
    return _rasa_validate(self, result)  # a bad response (rare): Rasa's own path raises, with its message


def install() -> None:
    """Make Rasa's remote actions validate with the compiled schema (called before `rasa run` starts)."""
    RemoteAction._validate_action_result = validate_action_result
