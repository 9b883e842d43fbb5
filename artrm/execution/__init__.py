"""How a run executes on its device: device and threads, numerics (fp32, tf32, bf16), and
per-step statistics kept on the device."""
