"""All SQL of statistics lives here: one module per area."""
