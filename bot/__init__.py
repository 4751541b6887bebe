"""Support chatbot with live-agent handoff: everything that is not a Rasa action."""
