"""Frustration: per-message signals and scores (signals.py), a conversation score with decay
(conversation.py), the Rasa NLU component that adds scores to every parse (component.py) and the
dialogue policy that offers or hands over to a person (policy.py)."""
