# Every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# checkov (tests/infra/test_scanners.py) in a virtualenv of its own: its pins conflict with ours.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
EXTRAS := training,model,container,lambdas,infra,local,bench,dev
# Where `make local` writes its synthetic world (and what it reads with DATA=DIR instead).
LOCAL_DIR ?= .local
USERS ?= 20000
SEED  ?= 7

.PHONY: setup chromium test lint mutate local smoke retrain synth deploy-check bench clean

setup: $(STAMP) $(CHECKOV_STAMP) chromium

# Debian's Chromium for the console's browser tests (tests/console; Playwright drives it, its own
# browser download is never run). Installed with apt-get (sudo when not root) when missing; where
# that cannot be done, a message says so and the tests skip, unless CI is set: then it fails.
# MUSICREC_CHROMIUM=/path/to/chromium uses another Chromium or Chrome instead.
chromium:
	@if [ -n "$$MUSICREC_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 \
	  || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else sudo="none"; fi; \
	if [ "$$sudo" != none ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make setup: installing Debian's chromium for the console's browser tests"; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  && exit 0; \
	fi; \
	echo "make setup: no Chromium for the console's browser tests (tests/console), and it could" \
	  "not be installed here: run 'apt-get install chromium' as root (Debian/Ubuntu), or set" \
	  "MUSICREC_CHROMIUM to a Chromium or Chrome binary; until then those tests are skipped."; \
	if [ -n "$$CI" ]; then exit 2; fi

$(STAMP): pyproject.toml package-lock.json clients/python/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	$(PY) -m pip install --quiet -e './clients/python[sigv4]'   # the Python SDK (tests/clients)
	npm ci --silent --no-audit --no-fund   # the CDK CLI, pinned in package.json (run: npx cdk)
	@touch $(STAMP)

$(CHECKOV_STAMP): infra/checkov-requirements.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r infra/checkov-requirements.txt
	@touch $(CHECKOV_STAMP)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy training container lambdas infra local tests bench clients/python

# Mutation testing of the core modules against their own area's unit tests (docs/testing.md):
# a fresh mutants/ each run, 2 workers, then the score per module; fails below MUTATE_MIN %.
# One mutant again: .venv/bin/mutmut run NAME; its diff: .venv/bin/mutmut show NAME.
MUTATE_MIN ?= 85
mutate: setup
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2
	$(PY) -m tests.mutation.score --min $(MUTATE_MIN)

# The whole system on this machine: world (or DATA=DIR), model, lists, local AWS, inference
# server and API gateway on 127.0.0.1:3000; Ctrl-C stops it. REBUILD=1 rebuilds everything;
# ACCESS=server: SigV4-signed calls on the app routes instead of listeners' ID tokens.
local: setup
	$(PY) -m local.up --dir $(LOCAL_DIR) --users $(USERS) --seed $(SEED) \
	  $(if $(DATA),--data $(DATA)) $(if $(REBUILD),--rebuild) $(if $(ACCESS),--access-mode $(ACCESS))

# Against a running `make local`: call every route / run the retraining pipeline's steps.
smoke: setup
	$(PY) -m local.smoke --dir $(LOCAL_DIR)

retrain: setup
	$(PY) -m local.pipeline --dir $(LOCAL_DIR)

# The CloudFormation templates of every stack into cdk.out/ (no AWS credentials or Docker needed).
synth: setup
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx cdk synth -q -c env=$(or $(ENV),dev)

# With credentials for the target account (AWS_PROFILE, AWS_REGION): synthesize ENV (default
# dev), send every state machine definition to Step Functions' ValidateStateMachineDefinition,
# then `cdk diff` (docs/deploy.md). Exits 2 when no credentials are configured.
deploy-check: setup
	$(PY) -m infra.deploy_check --env $(or $(ENV),dev)

# Every benchmark (bench/all.py), one after the other, rewriting docs/benchmarks.md and its plots
# (about 30 minutes on 2 cores). The inference benchmark needs wrk (Debian/Ubuntu: apt-get
# install wrk; macOS: brew install wrk). One benchmark alone: `.venv/bin/python -m bench.NAME`.
bench: setup
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } \
	  || { echo "make bench: install wrk first (apt-get install wrk)"; exit 2; }
	$(PY) -m bench.all

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(LOCAL_DIR) mutants .pytest_cache .mypy_cache .ruff_cache node_modules cdk.out .cdk-cache \
	  clients/typescript/node_modules clients/typescript/dist
