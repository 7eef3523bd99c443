# `make run` and `make test` work on a fresh machine: they create .venv and install first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 1

.PHONY: run test install browser train evaluate bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip" "setuptools<81" wheel
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/otklik serve --host 127.0.0.1 --port 8000

# Debian's chromium + chromium-driver for the curator pages' browser tests (root on CI; skipped
# with a clear reason by the tests where it cannot be installed).
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium and chromium-driver (Debian packages) for the browser tests"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium is not installed and cannot be installed here: browser tests will be skipped"; fi

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

train: $(STAMP)
	$(BIN)/otklik train

evaluate: $(STAMP)
	$(BIN)/otklik evaluate

bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
