# fmnist-edge: every target installs what it needs the first time (venv, pinned packages, data).
#   make train export    train the tutorial model, export every variant, gate each on parity with Keras
#   make test            the test suite (installs everything on a fresh machine)
#   make bundle TARGET=linux-aarch64 ENGINE=litert   offline archive for a device (see BUNDLE.md)
#   make device-check    that archive on an emulated Raspberry Pi 4 (root: debootstrap + QEMU)
#   make bench-device HOSTS="pi@pi4 pi@pi5"; make report   real boards over SSH, one comparison
#   make web && make serve-web   the page that classifies a dropped photo in the browser (dist/web)

# The host's interpreter; a bare version (make bundle PYTHON=3.12) is the bundle's Python instead.
PYTHON ?= python3
HOST_PYTHON := $(if $(filter 3.%,$(PYTHON)),python3,$(PYTHON))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARTIFACTS ?= artifacts
DEBIAN_DATA := /usr/share/datasets/fashion-mnist
DEVICE_PACKAGES := debootstrap qemu-user-static binfmt-support openssh-server openssh-client
EXPORTED := test -f $(ARTIFACTS)/manifest.json || $(MAKE) train export

.PHONY: setup data device-tools micro-tools web-tools train export evaluate predict test test-fast bench bench-train \
	bench-photos quant-report micro npu bundle bundle-sizes device-check bench-device report web serve-web bench-web lint clean

setup: $(STAMP) data

$(STAMP): pyproject.toml
	test -x $(PY) || $(HOST_PYTHON) -m venv $(VENV)
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

# What the device targets need: debootstrap and QEMU for the emulated board, OpenSSH for the
# loopback test, the qemu-aarch64 handler (F flag) in binfmt_misc. Only as root with apt-get;
# elsewhere their tests are skipped with the reason.
device-tools:
	@if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then exit 0; fi; \
	missing=$$(for p in $(DEVICE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null \
		|| echo "device-tools: could not install $$missing" >&2; fi; \
	mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
		|| echo "device-tools: cannot mount binfmt_misc" >&2; \
	[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 \
		|| echo "device-tools: cannot register qemu-aarch64 in binfmt_misc" >&2

train: setup  # PRUNE=0.5: then zero that share of each Dense kernel's weights and fine-tune (sparse C weights)
	$(PY) -m train --out $(ARTIFACTS) $(if $(PRUNE),--prune $(PRUNE))

export: setup  # MODEL=my.keras: a Keras classifier of your own instead of the trained tutorial model; DATA=photos/
	$(PY) -m export --artifacts $(ARTIFACTS) $(if $(MODEL),--model $(MODEL)) $(if $(DATA),--data $(DATA))

evaluate: setup
	$(PY) -m runtime.evaluate --artifacts $(ARTIFACTS)

predict: setup
	$(PY) -m runtime.predict --artifacts $(ARTIFACTS) $(IMAGES)

test: setup device-tools micro-tools web-tools lint
	$(PY) -m pytest

# Everything that needs no TensorFlow nor a browser (engines, Predictor, images, CLIs on tiny models): under a minute
test-fast: setup
	$(PY) -m pytest -m "not tensorflow and not browser"

# Latency of every variant on this CPU: one table, and benchmarks/results/{benchmark.json,report.md,report.png}
bench: setup
	$(PY) -m pytest --benchmark --artifacts=$(ARTIFACTS) --report-dir=benchmarks/results

# int8 recipes tried on both engines and chosen by the rule in export/recipes.py, ~2-3 min:
# ARTIFACTS/quant-report/{report.json,report.md,report.png,layers.md,layers.png}; make export then follows it
quant-report: setup
	$(PY) -m export.sweep --artifacts $(ARTIFACTS)

bench-train: setup
	$(PY) -m benchmarks.train_speed

# Agreement on the photo-like corpus of tests/photos.py, per background kind and format, and preprocessing time
bench-photos: setup
	$(PY) -m benchmarks.photos --artifacts $(ARTIFACTS)

# dist/fmnist-edge-<target>[-<engine>].tar.gz: installs offline (wheels inside); BUNDLE.md says how.
#   make bundle [TARGET=linux-aarch64|linux-x86_64] [ENGINE=litert|onnxruntime|both] [PYTHON=3.11]
bundle: setup
	@$(EXPORTED)
	$(PY) -m device.bundle --artifacts $(ARTIFACTS) --out dist $(if $(TARGET),--target $(TARGET)) \
		$(if $(ENGINE),--engine $(ENGINE)) $(if $(filter 3.%,$(PYTHON)),--python $(PYTHON))

# Archive and installed sizes and offline install time per target and engine (a Markdown table).
bundle-sizes: setup device-tools
	@$(EXPORTED)
	$(PY) -m device.sizes --artifacts $(ARTIFACTS)

# The aarch64 archive on an emulated Raspberry Pi 4 (Debian arm64 root, cached in /var/cache/fmnist-edge):
# offline install, predict, evaluate, bench --smoke.  [TARGET=aarch64] [CPU=cortex-a72] [ENGINE=litert]
device-check: setup device-tools
	@$(EXPORTED)
	$(PY) -m device.emulated --artifacts $(ARTIFACTS) $(if $(TARGET),--arch $(TARGET:linux-%=%)) \
		$(if $(CPU),--cpu $(CPU)) $(if $(ENGINE),--engine $(ENGINE))

# The benchmark on real boards over SSH, in parallel: results in benchmarks/results/devices/<host>/.
#   make bench-device HOSTS="pi@pi4 pi@pi5" [ENGINE=...] [SMOKE=1] [SSH_CONFIG=file]
bench-device: setup
	@$(EXPORTED)
	$(PY) -m device.ssh $(HOSTS) --artifacts $(ARTIFACTS) $(if $(ENGINE),--engine $(ENGINE)) \
		$(if $(SMOKE),--smoke) $(if $(SSH_CONFIG),--ssh-config $(SSH_CONFIG))

# Every device's results side by side: benchmarks/results/devices/report.{md,png}; then the one table to
# choose from, every variant on every target with results and the default per target: benchmarks/results/choice.md
report: setup
	$(PY) -m device.report; status=$$?; $(PY) -m device.choice --artifacts $(ARTIFACTS) && exit $$status

# The generated C models (the tutorial's, a small CNN in ARTIFACTS/cnn, the tutorial's pruned to 50% in
# ARTIFACTS/pruned; each made the first time) on emulated Cortex-M55/M4/M3 boards (QEMU) and sized for a
# Cortex-M0+: flash, RAM, instructions per inference, Cortex-M4 cycles (estimated), scores compared byte for
# byte with TFLite Micro's; benchmarks/results/{micro.json,micro.md}
micro: setup micro-tools
	@$(EXPORTED)
	@test -f $(ARTIFACTS)/cnn/manifest.json || $(PY) -m benchmarks.micro_cnn --out $(ARTIFACTS)/cnn
	@test -f $(ARTIFACTS)/pruned/manifest.json || $(MAKE) train export ARTIFACTS=$(ARTIFACTS)/pruned PRUNE=0.5
	$(PY) -m benchmarks.micro --artifacts $(ARTIFACTS) --out benchmarks/results

# The TFLite Micro variants compiled by Vela for Ethos-U55/U65 NPUs, with Vela's estimates (not run): cycles,
# time, SRAM, flash; into the manifest and benchmarks/results/{npu.json,npu.md}
npu: setup
	@$(EXPORTED)
	$(PY) -m benchmarks.npu --artifacts $(ARTIFACTS) --out benchmarks/results

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

# Debian's chromium (the browser tests, make bench-web), nodejs and npm, each whose command is missing,
# installed when apt-get is usable (elsewhere the browser tests are skipped with the reason); then
# ONNX Runtime Web as package-lock.json pins it, into node_modules/ (again when the lock changes).
WEB_TOOLS := chromium:chromium node:nodejs npm:npm
web-tools:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for tool in $(WEB_TOOLS); do command -v $${tool%%:*} >/dev/null || echo $${tool##*:}; done); \
		if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null \
			|| echo "web-tools: could not install $$missing" >&2; fi; \
	fi
	@if command -v npm >/dev/null; then $(MAKE) -s --no-print-directory node_modules/.package-lock.json; \
	else echo "web-tools: no npm here: the page cannot be built, its tests are skipped" >&2; fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

# dist/web: the static page (any web server serves it), ONNX Runtime Web and the ONNX variants
web: setup web-tools
	@$(EXPORTED)
	$(PY) -m web.build --artifacts $(ARTIFACTS) --out dist/web

# The page on http://127.0.0.1:$(PORT)/ with COOP/COEP (WebAssembly threads); NO_ISOLATION=1: without
PORT ?= 8000
serve-web: web
	$(PY) -m web.serve dist/web --port $(PORT) $(if $(NO_ISOLATION),--no-isolation)

# The page in headless Chromium beside native onnxruntime: benchmarks/results/devices/browser/, for make report
bench-web: web
	$(PY) -m benchmarks.browser --artifacts $(ARTIFACTS) --dist dist/web

# ruff's lint rules and its formatting (pyproject.toml), checked: `ruff format .` applies it
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(ARTIFACTS) benchmarks/results dist build
