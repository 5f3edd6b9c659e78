"""Cross-cutting kit shared by every service: nothing domain-specific lives here."""
