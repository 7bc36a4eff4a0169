#!/usr/bin/env bash
# The GPU measurements behind the figures of docs/training.md (Speed on GPUs), in one pass on a machine with one
# NVIDIA GPU (about 5 minutes on an H200): CUDA tests, the training-step table with profiles, the layout of single
# layers, the loop against the step. Needs i2i importable (PYTHONPATH or an installed package) and its dependencies.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name())"
echo "== tests"
SECONDS=0
timeout 100 python3 -m pytest -q tests/test_gpu.py -p no:cacheprovider ${PYTEST_K:+-k "$PYTEST_K"}
echo "(${SECONDS}s)"; SECONDS=0
echo "== training step"
(cd bench && timeout "${STEP_TIMEOUT:-150}" python3 train_step.py --batches ${STEP_BATCHES:-1 8 16} --rounds 2 --steps 5 \
  --profile 16 --tasks ${STEP_TASKS:-pix2pix cyclegan})
echo "(${SECONDS}s)"; SECONDS=0
echo "== loop"
(cd bench && timeout 120 python3 train_loop.py --settings ${LOOP_SETTINGS:-pix2pix:1 pix2pix:16 cyclegan:1 cyclegan:4} \
  --steps 150 --copies 10)
echo "(${SECONDS}s)"; SECONDS=0
if [ -z "${SKIP_LAYERS:-}" ]; then
  echo "== layers"
  (cd bench && timeout 40 python3 layers.py)
fi
