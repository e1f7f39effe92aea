# Fragerunde — `make run` serves a demo, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
VENDOR := static/vendor/socket.io.min.js
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard moderation/translations/*/LC_MESSAGES/messages.po))

.PHONY: install run test fuzz check bench translations clean

install: $(VENV)/.installed $(VENDOR) $(CATALOGUES)

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# The browser's Socket.IO client comes from npm (pinned in package-lock.json), never from a CDN.
$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js $(VENDOR)

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

run: install
	$(FLASK) db upgrade
	$(FLASK) seed
	$(FLASK) serve --host 127.0.0.1 --port 5000

# Bytecode for the project's own modules, written once: with PYTHONDONTWRITEBYTECODE set (as on CI)
# every server and CLI process the tests start would compile them from source again.
test: install check
	$(BIN)/python -m compileall -q moderation tests
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The fuzz tests with the full example counts (make test runs them with fewer).
fuzz: install
	HYPOTHESIS_PROFILE=thorough $(BIN)/python -m pytest -n 2 tests/services/test_fuzz.py $(PYTEST_ARGS)

# Lint, import order and types: a new warning fails `make test`, and so CI.
check: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/scale.py

# After changing texts: extract, merge into the catalogues, then translate the .po files.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract --no-wrap -F babel.cfg -k _l -k N_ -o moderation/translations/messages.pot .
	$(BIN)/pybabel update --no-wrap -i moderation/translations/messages.pot -d moderation/translations

clean:
	rm -rf $(VENV) node_modules static/vendor
