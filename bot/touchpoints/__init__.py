"""Touchpoints: every message and event of every conversation as a row in SQL (models.py), written off the
hot path (writer.py) by the Rasa event broker (broker.py) and the console, mapped to journey stages
(journey.yml), and summed up for the analytics dashboard (analytics.py)."""
