"""Redis keys of the widget's limits and the order lookups' failure counts, each a template named once.

Fill them with str.format; every value is bounded before it gets here (addresses, session ids as issued,
emails and order numbers hashed), so no visitor can make a key long or make it collide with another kind.
"""

# the widget channel (bot.channels.limits, bot.channels.offers)
WIDGET_CONNECTIONS = "widget:connections:{address}"  # open socket.io connections of a client address
WIDGET_SESSION_RATE = "widget:rate:{session_id}"  # messages of a session in the current window
WIDGET_ADDRESS_RATE = "widget:address_rate:{address}"  # messages of every session of a client address
WIDGET_SESSION_REQUESTS = "widget:session_requests:{address}"  # session requests of a client address
WIDGET_SESSION_ADDRESS = "widget:session_address:{session_id}"  # the client address a session last came from
WIDGET_OFFERED = "widget:offered:{session_id}"  # hash: payload -> title of every button the bot sent the session

# failed order lookups (bot.orders.attempts); kind: conversation | address | email | order
LOOKUP_FAILURES = "orders:lookup_failures:{kind}:{value}"
