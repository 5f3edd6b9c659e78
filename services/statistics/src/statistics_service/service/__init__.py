"""Business rules of statistics: the projection, figures, coverage, snapshots and the feed."""
