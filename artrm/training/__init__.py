"""Training and evaluation: the trainer, generation-based metrics, devices and numerics."""
