# S7: `make run` serves the site with web, worker and local S3; `make test` runs the suite;
# `make lint` checks style, imports and the committed bundle. Needs only Python 3.11 and Node.

# Settings are production's unless told otherwise; everything make starts here is local.
export S7_ENV ?= development
# make run's ports and data; another run (a test's) can pick its own:
# make run PORT=8100 AWS_S3_ENDPOINT_URL=http://127.0.0.1:8433 SITE_URL=http://127.0.0.1:8100 S7_VAR_DIR=/tmp/s7
export PORT ?= 8000
export S7_VAR_DIR ?= $(CURDIR)/var

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRONTEND_BUILD := uploads/static/uploads/uploader.js

.PHONY: run test bench venv bytecode frontend services chromium migrate clean var lock \
	lint lint-ruff lint-format lint-imports bundle-check

# requirements-dev.txt holds the runtime pins too, every one with its hashes (see make lock).
# uv installs them: from its cache, in less than half of pip's time (pip keeps none here). uv
# itself comes first, at the version the lock pins. Compiled to bytecode as pip would: where
# PYTHONDONTWRITEBYTECODE is set, every process would compile what it imports, every time.
UV_VERSION = $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-dev.txt)
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) --require-hashes -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# The project's own modules compiled ahead, for the same reason: the suite and make run start
# over a hundred Python processes (servers, workers, commands), each importing most of them.
bytecode: $(STAMP)
	@$(PY) -m compileall -q -j0 s7 uploads items devtools bench tests manage.py celery_worker.py gunicorn.conf.py

frontend: $(STAMP)
	@if [ -f frontend/package.json ]; then $(MAKE) --no-print-directory $(FRONTEND_BUILD); fi

# The tests and benchmarks build pages with esbuild too (the stock Uppy page of benchmark 11).
NODE_MODULES := frontend/node_modules/.package-lock.json
$(NODE_MODULES): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_MODULES)

$(FRONTEND_BUILD): frontend/package.json frontend/package-lock.json frontend/build.mjs $(wildcard frontend/src/*)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $(FRONTEND_BUILD)

var:
	mkdir -p $(S7_VAR_DIR)/broker/processed $(S7_VAR_DIR)/cache $(S7_VAR_DIR)/s3

migrate: $(STAMP) var
	$(PY) manage.py migrate --noinput

# s7/supervise.py runs Procfile.dev's processes; Ctrl-C stops every one of them within seconds,
# also when the output is piped (make run 2>&1 | tee run.log).
run: $(STAMP) bytecode frontend var migrate
	@echo "S7 on http://127.0.0.1:$(PORT) (web, worker and S3; Ctrl-C stops all)"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" exec $(PY) -m s7.supervise Procfile.dev

# Postgres and Redis are the machine's; start them when they are down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "Postgres or Redis did not start"; exit 1

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# The suite runs in TEST_PROCESSES processes, each a test run of its own (tests/settings.py);
# tests are spread one by one, a process that runs out taking work from the others. A test's
# commits need not survive a crash: every connection the suite opens (libpq reads PGOPTIONS, and
# the servers and workers it starts inherit it) commits without waiting for the disk.
TEST_PROCESSES ?= 4
test: $(STAMP) bytecode frontend $(NODE_MODULES) services chromium
	PGOPTIONS="-c synchronous_commit=off" $(PY) -m pytest -n $(TEST_PROCESSES) --dist worksteal $(ARGS)

bench: $(STAMP) bytecode frontend $(NODE_MODULES) services
	$(PY) -m bench

clean:
	rm -rf $(VENV) var staticfiles frontend/node_modules

# The hashed locks Heroku (requirements.txt) and everyone else (requirements-dev.txt) install,
# compiled from the .in files. uv reads no pip.conf: it resolves on PyPI, where Heroku installs
# from, for Python 3.11 on any platform. Pins already in the .txt files stay unless told, e.g.
# make lock LOCK_ARGS="--upgrade-package boto3".
LOCK := $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_ARGS)

lock: $(STAMP)
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt

# Every check runs (make -k); lint fails at the end if any one did. Needs no services.
lint: $(STAMP)
	@$(MAKE) --no-print-directory -k lint-ruff lint-format lint-imports bundle-check

lint-ruff: $(STAMP)
	$(VENV)/bin/ruff check .

lint-format: $(STAMP)
	$(VENV)/bin/ruff format --check --output-format concise .

# The import contracts live in .importlinter: no cycle inside a package, the engine never imports
# the site or the project, the site never imports the engine's S3 gateway.
lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

# Heroku runs no Node, so the committed bundle must be what frontend/src builds. esbuild's output
# is deterministic: build again in place and let git show any difference from what is committed.
bundle-check:
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@git diff --exit-code --stat -- uploads/static/uploads/ \
		&& test -z "$$(git ls-files --others --exclude-standard -- uploads/static/uploads/)" \
		|| { echo "uploads/static/uploads/ is not what frontend/src builds: commit the rebuilt bundle"; exit 1; }
