"""``i2i eval``: scoring a run's checkpoint, an exported model or folders of images with the metrics of
``i2i.metrics`` (FID, KID, LPIPS, PSNR, SSIM), on the image sets a run's data and its task's comparisons define."""

from .evaluate import EvalOptions, Evaluation, Score, evaluate_folders, evaluate_model, evaluate_run

__all__ = ["EvalOptions", "Evaluation", "Score", "evaluate_folders", "evaluate_model", "evaluate_run"]
