"""Notifications service: tells each person what to do next, once."""
