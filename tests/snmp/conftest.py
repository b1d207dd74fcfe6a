"""Fixtures: ``snmp_agents`` (snmpsim serving real and edge-case recordings, see tests/harness/snmp_fixtures.py)."""

from tests.harness.snmp_fixtures import snmp_agents

__all__ = ["snmp_agents"]
