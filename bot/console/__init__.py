"""The agent console (Sanic): the app factory in app.py, what it opens in context.py, one blueprint per area in
blueprints/, errors answered in errors.py, users and sessions, and the link to visitors' widgets (visitor_link.py,
claims.py, watcher.py). Its static/ and templates/ also hold the chat widget and the demo page, which Rasa's widget
channel serves (bot/channels/demo_page.py)."""
