"""Business rules of reservations, one module per concern.

- `access`: who may do what (tenancy from the token);
- `policies`: municipal policies and the default period;
- `reservations`: the API's use cases and the state machine;
- `allocation`: handing out devices under the institution lock (uses `allocator`, the pure
  core, whose module doc documents the priority score);
- `lifecycle`: expiry and loans (contract events);
- `readmodel`: the inventory's devices and institutions.
"""
