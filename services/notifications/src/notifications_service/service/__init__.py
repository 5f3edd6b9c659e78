"""Business rules of the notifications service (no HTTP, no commits: callers own the session).

- `fanout`: a new notice's deliveries, by the person's preferences and verified contact points;
- `contacts`: contact points, set and verified by a one-time code (`addresses` checks them);
- `preferences`: a person's language and, per kind, on or off and its channels;
"""
