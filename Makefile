# i2i: set-up, demo and tests. `make demo` and `make test` work on a fresh machine with Python 3.10+.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# torch is installed here, pinned, so no resolver picks a multi-GB build on its own; override for other
# platforms, e.g. make setup TORCH="torch torchvision --index-url https://download.pytorch.org/whl/cpu"
TORCH  ?= torch==2.14.1 torchvision==0.29.1

.PHONY: setup opencv-gui ort-web demo test test-slow lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e ".[dev,app]"
	@$(MAKE) --no-print-directory opencv-gui
	@$(MAKE) --no-print-directory ort-web
	@touch $@

# onnxruntime-web for `i2i app` and `i2i export --web`: the version pinned in i2i/app/ortweb.json, from the npm
# registry, checked against the pinned sha512, into i2i/app/static/ort/ (git-ignored). Does nothing when present.
# Another version: $(PY) -m i2i.app.ortweb --pin VERSION (rewrites the pin, then fetches).
ort-web:
	@$(PY) -m i2i.app.ortweb

# albumentations requires opencv-python-headless, which installs the same cv2/ files as opencv-python but
# without GUI functions (no imshow for the webcam demo). Keep one OpenCV: the GUI build, at the same version.
opencv-gui:
	@if $(PIP) show -q opencv-python-headless >/dev/null 2>&1; then \
	  version=$$($(PIP) show opencv-python 2>/dev/null | sed -n 's/^Version: //p'); \
	  version=$${version:-$$($(PIP) show opencv-python-headless | sed -n 's/^Version: //p')}; \
	  $(PIP) uninstall -q -y opencv-python-headless opencv-python && \
	  $(PIP) install -q --no-deps "opencv-python==$$version" && \
	  echo "OpenCV: kept opencv-python $$version (GUI build); removed opencv-python-headless"; \
	fi

# Trains a small pix2pix (day -> night) on the bundled sample (3-5 minutes on 2 CPU cores, 500 steps), exports
# it to ONNX (registered as 'demo'), and translates the package's sample photo with it by name.
demo: setup
	rm -rf runs/demo
	$(VENV)/bin/i2i train pix2pix --data datasets/gnome-day2night --name demo \
	  --netG unet_128 --ngf 32 --ndf 32 --load-size 143 --crop-size 128 --batch-size 4 \
	  --n-epochs 12 --n-epochs-decay 8 --sample-every 0 --num-workers 2
	$(VENV)/bin/i2i export runs/demo --int8
	$(VENV)/bin/i2i translate i2i/assets/parity.jpg --model demo -o runs/demo/parity_demo.jpg
	@echo "live: $(VENV)/bin/i2i webcam --model demo   (camera 0; --source VIDEO for a file)"

test: setup
	@$(MAKE) --no-print-directory ort-web
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
