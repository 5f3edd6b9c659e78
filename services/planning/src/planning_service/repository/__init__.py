"""Planning's SQL, one module per part: `survey` and `allocation`."""
