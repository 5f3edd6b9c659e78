"""Support: the municipality's technicians work through the problem reports."""
