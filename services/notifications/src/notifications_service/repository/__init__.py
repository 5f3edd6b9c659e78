"""All SQL of the notifications service, one module per domain."""
