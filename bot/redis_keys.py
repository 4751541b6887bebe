"""Every Redis key, each a template named once: the widget's limits, the order lookups' failure counts, the handoff
queue, the console's sessions and presence, and the conversations' locks.

Fill them with str.format; every value is bounded before it gets here (addresses, session ids as issued, usernames
cut to 64 characters, emails, order numbers and session tokens hashed), so no visitor can make a key long or make
it collide with another kind.
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

# the handoff queue (bot.handoff.queue, .presence, .leader); everything under the prefix is the queue's
HANDOFF_PREFIX = "handoff:"
HANDOFF_WAITING = HANDOFF_PREFIX + "waiting"  # sorted set: waiting conversation ids by priority score
HANDOFF_AGENTS = HANDOFF_PREFIX + "agents"  # set: every agent id that ever registered
HANDOFF_HANDLED = HANDOFF_PREFIX + "handled"  # list: the latest handling times (seconds), newest first
HANDOFF_EVENTS = HANDOFF_PREFIX + "events"  # pub/sub channel of every queue change, for consoles and visitors
HANDOFF_CONVERSATION = HANDOFF_PREFIX + "conv:{conversation_id}"  # hash: one handoff (bot.handoff.queue.Handoff)
HANDOFF_CHATS = HANDOFF_PREFIX + "chats:{agent_id}"  # set: the conversations an agent holds
HANDOFF_PRESENCE = HANDOFF_PREFIX + "presence:{agent_id}"  # the agent's status while their heartbeat lives (TTL)
HANDOFF_AGENT = HANDOFF_PREFIX + "agent:{agent_id}"  # hash: an agent's name, teams and seat limit
HANDOFF_WATCHER = HANDOFF_PREFIX + "watcher"  # the console process whose watcher acts (a lease with a TTL)

# the console (bot.console.sessions; bot.handoff.presence for the agent's own status and open streams)
CONSOLE_SESSION = "console:session:{token_hash}"  # a login session, by the sha256 of its cookie's token
CONSOLE_LOGIN_TRIES = "console:login_tries:{kind}:{value}"  # sign-in attempts in the window; kind: user | address
CONSOLE_WANTED_STATUS = "console:wanted_status:{agent_id}"  # the status the agent chose (available | away)
CONSOLE_STREAMS = "console:streams:{agent_id}"  # how many of the agent's console tabs stream events now

# the conversations' lock store (bot.rasa_stores.PromptRedisLockStore); prefix: endpoints.yml's key_prefix + ":"
LOCK_TICKETS = "{prefix}lock:tickets"  # counter: the last ticket number issued (any conversation; never reused)
LOCK_QUEUE = "{prefix}lock:queue:{conversation_id}"  # sorted set: the conversation's tickets, in the order served
LOCK_DEADLINES = "{prefix}lock:deadlines:{conversation_id}"  # sorted set: each ticket -> when it expires (ms)
LOCK_RELEASED = "{prefix}lock:released:{conversation_id}"  # pub/sub channel: the ticket now first in line
