"""Test package anchor: gives the kit tests the unique import name `shared.tests`."""
