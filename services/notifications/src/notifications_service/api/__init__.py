"""HTTP endpoints of the notifications service, one module per area."""
