"""The training loop, the same for every method: ``train(config)`` and ``resume(run_dir)`` over a task (the
method: networks, losses, step order) and the engine's machinery (devices, precision, checkpoints, CUDA graphs,
DDP under torchrun)."""

from .trainer import TrainResult, resume, run_dir_for, train

__all__ = ["TrainResult", "resume", "run_dir_for", "train"]
