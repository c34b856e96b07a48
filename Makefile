# Every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS := training,model,dev
# Where `make local` writes its synthetic world (and what it reads with DATA=DIR instead).
LOCAL_DIR ?= .local
USERS ?= 20000
SEED  ?= 7

.PHONY: setup test lint local bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(STAMP)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy training tests bench

# For now: generate (or import) a dataset and validate it. Later: the whole local stack.
local: setup
	@if [ -n "$(DATA)" ]; then \
	  $(PY) -m training.validate $(DATA); \
	else \
	  test -f $(LOCAL_DIR)/world/users.parquet || \
	    $(PY) -m training.world --users $(USERS) --seed $(SEED) --out $(LOCAL_DIR)/world; \
	  $(PY) -m training.validate $(LOCAL_DIR)/world; \
	fi

bench: setup
	$(PY) -m bench.world

clean:
	rm -rf $(VENV) $(LOCAL_DIR) .pytest_cache .mypy_cache .ruff_cache
