"""Business rules of the notifications service (no HTTP, no commits: callers own the session).

- `fanout`: a new notice's deliveries, by the person's preferences and verified contact points;
"""
