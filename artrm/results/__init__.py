"""Results: validated run records, their store, archives, locks, provenance and migration."""
