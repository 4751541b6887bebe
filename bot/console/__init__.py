"""The agent console (Sanic): app factory in app.py, one blueprint per area in blueprints/, users and sessions, the
live link to visitors' widgets. Its static/ and templates/ also hold the chat widget and the demo page, which
Rasa's widget channel serves (bot/channels/widget.py)."""
