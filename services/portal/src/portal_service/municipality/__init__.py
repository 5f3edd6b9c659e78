"""The municipality's console: its computer library's devices, deliveries, rules, staff and
figures, for the municipality's administrators (`/municipality/<ATVK code>/…`)."""
