"""One blueprint per area of the console: auth (sign in, users), queue, conversations, tickets."""
