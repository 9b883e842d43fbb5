"""Speed benchmark of artrm: `python bench/bench.py --help` (see bench/NOTES.md)."""
