"""Platform administration: what keeps the platform itself running (pages under `/platform/`)."""
