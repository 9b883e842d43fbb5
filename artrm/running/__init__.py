"""Running many runs: grids, time-budgeted grids for borrowed GPUs, the Ray backend."""
