"""The load drill's parts (its test is `tests/test_load.py`)."""
