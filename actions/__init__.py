"""Rasa custom actions: thin, one module per concern, calling bot.* for the work."""
