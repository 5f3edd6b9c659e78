"""Statistics tests, importable as `statistics_tests` (`statistics.tests` shadows the stdlib)."""
