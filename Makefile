# fmnist-edge: every target installs what it needs the first time (venv, pinned packages, data).
#   make train export    train the tutorial model, export four variants, gate them on parity
#   make test            the test suite (installs everything on a fresh machine)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARTIFACTS ?= artifacts
DEBIAN_DATA := /usr/share/datasets/fashion-mnist

.PHONY: setup data train export evaluate predict test bench bench-train bundle lint clean micro micro-tools

setup: $(STAMP) data

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet --group dev
	touch $@

# The data: $FMNIST_DATA if set, else the Debian package (installed here when apt-get is usable).
data:
	@if [ -n "$$FMNIST_DATA" ] || [ -f $(DEBIAN_DATA)/t10k-labels-idx1-ubyte.gz ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	else \
		echo "Fashion-MNIST not found in $(DEBIAN_DATA): run 'sudo apt-get install dataset-fashion-mnist'" \
			"or set FMNIST_DATA to a folder holding the four .gz files" >&2; exit 1; \
	fi

train: setup
	$(PY) -m train --out $(ARTIFACTS)

export: setup
	$(PY) -m export --artifacts $(ARTIFACTS)

evaluate: setup
	$(PY) -m runtime.evaluate --artifacts $(ARTIFACTS)

predict: setup
	$(PY) -m runtime.predict --artifacts $(ARTIFACTS) $(IMAGES)

test: setup micro-tools
	$(PY) -m pytest

# Latency of every variant on this CPU: one table, and benchmarks/results/{benchmark.json,report.md,report.png}
bench: setup
	$(PY) -m pytest --benchmark --artifacts=$(ARTIFACTS) --report-dir=benchmarks/results

bench-train: setup
	$(PY) -m benchmarks.train_speed

# dist/fmnist-edge-bundle.tar.gz: runtime, benchmarks, artifacts, data and pinned runtime requirements
bundle: setup
	$(PY) -m benchmarks.bundle --artifacts $(ARTIFACTS) --out dist

# The generated C model on emulated Cortex-M4/M3 boards (QEMU) and sized for a Cortex-M0+: flash, RAM,
# instructions per inference, scores compared byte for byte; benchmarks/results/{micro.json,micro.md}
micro: setup micro-tools
	$(PY) -m benchmarks.micro --artifacts $(ARTIFACTS) --out benchmarks/results

# The cross compiler, its C library and QEMU (Debian packages), installed here when apt-get is usable.
MICRO_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
micro-tools:
	@if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
		&& [ -f "$$(arm-none-eabi-gcc -print-file-name=libc_nano.a)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq $(MICRO_PACKAGES) >/dev/null; \
	else \
		echo "skipping the install of $(MICRO_PACKAGES): not root or no apt-get" >&2; \
	fi

lint: setup
	$(PY) -m ruff check .

clean:
	rm -rf $(ARTIFACTS) benchmarks/results dist build
