"""One blueprint per area of the console: pages, auth (sign in, users), queue, conversations, tickets, analytics,
privacy."""
