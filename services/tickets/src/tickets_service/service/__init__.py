"""Business rules of tickets, one module per concern.

- `access`: who may do what (tenancy from the token, relations from the read models);
- `sla`: the SLA clocks' arithmetic (pure) and the default targets;
- `policies`: municipal SLA policies;
- `tickets`: reporting, reading, the automatic ticket of a damaged return, the queue;
- `listing`: the ticket list's pages, rows straight to the answer's values;
- `workflow`: the state machine, assignment, loss confirmation, loaners;
- `effects`: what a ticket does to its device (repairs, confirmed losses) and loaners;
- `discussion`: comments and photos;
- `claims`: insurance claims;
- `breaches`: the periodic SLA job;
- `readmodel`: the inventory's devices and the contracts' loans (and damaged returns).
"""
