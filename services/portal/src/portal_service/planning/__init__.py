"""Planning: the families' needs survey and the allocation of procurements by need."""
