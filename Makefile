# The two commands of the README:
#   make demo   set up everything and run the main job end to end on embedded defaults
#   make test   set up everything and run the whole test suite
# Set-up needs only Python 3.11+, git and make: a virtualenv in .venv, uv from PyPI, then the lock.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP  := $(VENV)/.installed

# Tests start many `gaorg` processes: let Python keep its bytecode caches even where the shell says not to.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test bench lint lock clean chromium nightly-unit

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gaorg demo

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder

# headless Chromium for tests/browser (Debian's package, installed when missing and root; else the
# browser tests skip and say why)
chromium: $(STAMP)
	$(BIN)/python -m tests.browser.chromium

# the nightly's systemd unit and timer with this checkout's paths, in $$GAORG_HOME/systemd/
nightly-unit: $(STAMP)
	$(BIN)/python -m gaorg.nightly_unit

bench: $(STAMP)
	for f in tests/bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check gaorg tests pipelines

lock: $(STAMP)
	$(BIN)/uv pip compile requirements.in --universal -p 3.11 --no-header -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
