"""Analyses of trained and untrained models (the state growth of the dual-stream rungs)."""
