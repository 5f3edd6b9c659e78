"""Business rules of the notifications service (no HTTP, no commits: callers own the session).

- `fanout`: a new notice's deliveries, by the person's preferences and verified contact points;
- `notices`: telling a person something, once per (cause, person);
- `reminders`: slots planned from the events' dates, re-planned when they move;
- `families`, `support`, `roster`: who is told what about reservations, contracts, tickets;
- `schedule`: the scheduler that makes due reminders and the daily digest into notices;
- `contacts`: contact points, set and verified by a one-time code (`addresses` checks them);
- `preferences`: a person's language and, per kind, on or off and its channels;
- `quiet`: the quiet hours (no SMS at night, local time);
- `dispatch`: whether a claimed delivery may still go, and the back-off of a retry;
- `deliveries`: failed deliveries for platform administrators, and their retry.
"""
