"""Business rules of the contracts service, one module per concern.

`access` (who sees and does what), `contracts` (reading contracts, documents and returns),
`reservations` (what reservation events do), `drafting` (contracts from reservations,
documents and re-rendering), `signing` (the login policy, signatures, the seal), `lifecycle`
(cancel, terminate, return, expiry and overdue), `lenders` (legal details), `readmodel` (the
inventory's devices) and `verification`.
"""
