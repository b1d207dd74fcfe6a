# NetGuard developer entry points.
#   make demo    install the project into .venv and run it on the example county; as root also
#                the namespace lab: discovery, an eviction and its restore, link checks, a compliance
#                scan and its HTML report, lab down
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

# setup.py builds the optional C accelerator (netguard/events/sqlite_index/_rows.c) in place.
$(VENV)/.installed-runtime: pyproject.toml setup.py netguard/events/sqlite_index/_rows.c | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml setup.py netguard/events/sqlite_index/_rows.c | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

# The lab's link check and scan run inside the lab's scanner namespace (ng-lab-scan, the county's
# NetGuard station on the data centre's management VLAN): from the root namespace their probes to
# the lab's 10.x addresses would leave the machine by the default route. The lab relays the
# switches' SNMP agents into that namespace at the inventory's own addresses, so the scan's
# default-community probes get real answers: the lab plants one switch that answers `public`, an
# sshd open to anyone on the data centre's EMR server and a rogue terminal at every site, and the
# scan fails on each with its evidence (exit 1 is expected). Discovery and eviction talk only to the
# agents (127.77.x.y), so they run from the root namespace.
# The lab's events come from the example inventory and are repeatable: each time slot always
# holds the same event, so running the demo again adds only the slots since the last run
# (a rerun a minute later writes a handful of events, never another 20,000).
LAB := $(BIN)/netguard --config var/lab/netguard.yaml
SCANNER := ip netns exec ng-lab-scan
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
	  $(LAB) discover run; \
	  $(LAB) discover unauthorised; \
	  echo "== eviction: the plan (dry run), one applied, what is isolated now, and its restore"; \
	  $(LAB) evict unauthorised; \
	  $(LAB) evict unauthorised --apply --limit 1; \
	  $(LAB) evict list; \
	  $(LAB) evict restore --all; \
	  echo "== link checks from the scanner namespace: ICMP, TCP and the uplink ports over SNMP"; \
	  $(SCANNER) $(LAB) links check --count 3 --interval 200; \
	  echo "== a compliance scan of the lab county from its scanner namespace (exit 1: the lab plants failures)"; \
	  $(SCANNER) $(LAB) scan --html var/lab/report.html; \
	  if test -s var/lab/report.html; then echo "the HTML report: $$(pwd)/var/lab/report.html"; else echo "demo: the scan wrote no HTML report"; fi; \
	  $(BIN)/netguard lab down --dir var/lab; \
	else echo "demo: skipping the namespace lab: discovery, eviction (plan, apply, restore), link checks and the compliance scan (they need root: namespaces and SNMP agents)"; fi

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
