# NetGuard developer entry points.
#   make demo    install the project into .venv and run it on the example county; as root also
#                the namespace lab: discovery, a compliance scan and its HTML report, lab down
#   make test    install the test dependencies (Debian peers, .venv, Elasticsearch), run the
#                whole suite, then ruff and mypy
#   make lint    ruff and mypy only
#   make bench   every bench/*.py
#   make clean   caches and build output (distclean also removes .venv)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= examples/netguard.yaml

.PHONY: demo test test-deps lint bench clean distclean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

# The lab's scan runs inside the lab's data-centre namespace (ng-lab-dc: routes to every site, no
# default route): from the root namespace its link probes to the lab's 10.x gateways would leave
# the machine by the default route. The switches' SNMP agents listen in the root namespace, so
# from there the default-community control sees no answer (it passes without evidence).
# The lab's events come from the example inventory and are repeatable: each time slot always
# holds the same event, so running the demo again adds only the slots since the last run
# (a rerun a minute later writes a handful of events, never another 20,000).
demo: $(VENV)/.installed-runtime
	@umask 077; mkdir -p var; test -e var/secrets.yaml || cp examples/secrets.sample.yaml var/secrets.yaml
	$(BIN)/netguard --config $(CONFIG) inventory validate
	$(BIN)/netguard --config $(CONFIG) inventory show
	$(BIN)/netguard --config $(CONFIG) lab events --count 20000 --hours 24
	$(BIN)/netguard --config $(CONFIG) events search 'risk:>=high AND (kind:sql OR kind:bastion-command)' --since 2h --limit 10
	$(BIN)/netguard --config $(CONFIG) events search 'kind:device AND action:new AND netguard.device.authorised:false' --since 24h --limit 5
	@if [ "$$(id -u)" -eq 0 ]; then \
	  $(BIN)/netguard lab down --dir var/lab >/dev/null 2>&1; rm -rf var/lab; \
	  echo "== the namespace lab: a small county, discovered over SNMP"; \
	  $(BIN)/netguard lab up --dir var/lab && \
	  $(BIN)/netguard --config var/lab/netguard.yaml discover run; \
	  $(BIN)/netguard --config var/lab/netguard.yaml discover unauthorised; \
	  echo "== a compliance scan of the lab county, from its data centre (exit 1: the lab plants failures)"; \
	  ip netns exec ng-lab-dc $(BIN)/netguard --config var/lab/netguard.yaml scan --html var/lab/report.html; \
	  if test -s var/lab/report.html; then echo "the HTML report: $$(pwd)/var/lab/report.html"; else echo "demo: the scan wrote no HTML report"; fi; \
	  $(BIN)/netguard lab down --dir var/lab; \
	else echo "demo: skipping the namespace lab, discovery and the compliance scan (they need root)"; fi

test-deps:
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/install-test-deps.sh

test: test-deps
	$(BIN)/pytest --durations=10
	$(BIN)/ruff check .
	$(BIN)/mypy

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	@set -e; for script in bench/*.py; do \
		echo "== $$script"; \
		$(BIN)/python $$script; \
	done

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
