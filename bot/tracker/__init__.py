"""Reading a conversation from its Rasa tracker events (no I/O): the visible transcript, and what the bot missed."""
