"""Planning's API models, one module per part: `survey` and `allocation`."""
