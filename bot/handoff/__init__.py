"""Live handoff: the agent queue in Redis, business hours, and the SQL records (tickets, ratings, notes)."""
