"""The national view for the ministry's analysts (`/ministry/…`): aggregates only."""
