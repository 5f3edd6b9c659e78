"""Planning's business rules (the caller's session commits; no module here commits):

- `survey*`: survey rounds, the families' answers, verification, results;
- `allocation*`: allocation rounds, the pure rule (`allocation_rule`), adjustments, moves.
"""
