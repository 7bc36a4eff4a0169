"""The generic training loop and what it needs: precision, schedules, checkpoints, logging, RNG state."""
