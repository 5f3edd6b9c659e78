"""Business rules of the notifications service (no HTTP, no commits: callers own the session).

- `fanout`: a new notice's deliveries, by the person's preferences and verified contact points;
- `quiet`: the quiet hours (no SMS at night, local time);
- `dispatch`: whether a claimed delivery may still go, and the back-off of a retry;
- `deliveries`: failed deliveries for platform administrators, and their retry;
"""
