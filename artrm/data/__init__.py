"""The tasks: character-level problems, their vocabulary and the train/eval split."""
