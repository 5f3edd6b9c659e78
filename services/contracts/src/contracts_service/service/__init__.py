"""Business rules of the contracts service, one module per concern.

`access` (who sees and does what), `drafting` (contracts from reservations, documents and
re-rendering), `signing` (the login policy, signatures, the seal), `lifecycle` (cancel,
terminate, return, expiry and overdue), `lenders` (legal details) and `verification`.
"""
