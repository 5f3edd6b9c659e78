"""Performance benchmarks of the platform: `uv run python -m bench` (or `make bench`)."""
