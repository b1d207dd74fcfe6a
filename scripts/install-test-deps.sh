#!/usr/bin/env bash
# Install everything the test suite needs. Idempotent, and quick when all is present:
# nothing is downloaded and apt-get update is not run unless something is missing.
#
#   Debian packages  the real peers the suite starts (TEST_DEBS; add a peer's package here)
#   .venv            the project and its [dev] extra, reinstalled when pyproject.toml, setup.py or the C source changes
#   Elasticsearch    the integ-test zips in ~/.m2 (Maven), unpacked into the test cache,
#                    the analysis shim built, the netguard-es user created
#
# Environment: PYTHON (python3), VENV (.venv), NETGUARD_TEST_ES_VERSIONS (8.19.8,9.2.4).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
# openjdk-17-jdk-headless: Java 17 for Elasticsearch 8.x and javac for the harness's shim;
# maven: fetches the Elasticsearch zips from Maven Central; unzip: for looking into them by hand;
# openssl: the throw-away CA and certificate for the HTTPS test node;
# iproute2 (ip netns, veth, tuntap) and nftables: the link tests' namespaces, loss made by nft rules;
# fping: the anchor bench/links.py compares the ICMP prober with;
# openssh-server, openssh-client: the real sshd behind the bastion and the real ssh/scp/sftp in front;
# snmp: net-snmp's snmpbulkwalk, the oracle in the discovery tests and the anchor in bench/discovery.py;
# util-linux (setpriv) and passwd (useradd) are essential packages, always present.
# The lab (netguard lab up, tests/lab): iproute2 (ip, bridge: namespaces, veths, VLAN bridges),
# snmpd (one agent per lab switch) and snmp (snmpwalk/snmpset in the tests), iputils-ping
# (hosts reach their gateway), arping (ARP from inside a namespace), nftables (packet loss in
# the lab: this kernel has no tc netem); fping: the link checks' benchmark anchor;
# arp-scan: the anchor bench/discovery.py --only arp compares the ARP sweep with.
# mariadb-server (with the server_audit plugin), postgresql (15 on Debian 12) and
# postgresql-15-pgaudit: the real servers whose logs the audit tests read;
# chromium: renders the compliance scan's HTML report headless (tests/compliance/test_html.py);
# percona-toolkit (pt-fingerprint, pt-query-digest) and pgbadger: the anchors the
# fingerprint test and bench/audit.py compare against.
TEST_DEBS=(openjdk-17-jdk-headless maven unzip openssl iproute2 snmpd snmp iputils-ping arping nftables fping
    openssh-server openssh-client mariadb-server postgresql postgresql-15-pgaudit percona-toolkit pgbadger
    chromium systemd arp-scan)

say() { printf 'install-test-deps: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------
missing=()
for pkg in "${TEST_DEBS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        say "missing Debian packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -q
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python ------------------------------------------------------------------------------
if [[ ! -x $VENV/bin/python ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp=$VENV/.installed-dev
# setup.py and the C source: `pip install -e` builds the C accelerator in place (see setup.py)
if [[ ! -f $stamp || pyproject.toml -nt $stamp || setup.py -nt $stamp || netguard/events/sqlite_index/_rows.c -nt $stamp ]]; then
    say "installing the project with its [dev] extra into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'
    touch "$stamp"
fi

# --- Elasticsearch -----------------------------------------------------------------------
# Fetches missing zips with `mvn dependency:get` into ~/.m2, unpacks them into the test cache,
# builds the analysis shim and creates the netguard-es user. A version that cannot be prepared
# (no Java 21+ for 9.x: the Temurin 25 JDK is not in any configured apt source) is reported
# here and then skipped by the tests with the reason, or failed in CI.
if ! "$VENV/bin/python" -m tests.harness.elasticsearch prepare; then
    say "WARNING: some Elasticsearch versions cannot run here; their tests will skip (fail with CI=true)" >&2
fi
