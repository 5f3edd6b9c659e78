"""Business rules of reservations, one module per concern.

- `access`: who may do what (tenancy from the token);
- `policies`: municipal policies and the default period;
- `reservations`: the API's use cases and the state machine;
- `allocation_rules`: the pure core of allocation (no database): the priority score, which
  device matches a request, and the greedy assignment with its invariants;
- `allocation`: applying those rules against the database, under the institution lock;
- `offer`: what an institution lends (its catalogue items, with free counts);
- `lifecycle`: expiry and loans (contract events);
- `readmodel`: the inventory's devices and institutions;
- `verified`: learners' criteria verified in planning's needs survey, and rescoring.
"""
