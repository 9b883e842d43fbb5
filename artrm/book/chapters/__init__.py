"""What one chapter (or the seven ladder chapters) needs and no other: its tables, figures and
checks. The presentation they share (tables, plots, statistics, listings) lives one level up."""
