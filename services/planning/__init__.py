"""Test package anchor: gives these tests the unique import name `services.tickets.tests`."""
