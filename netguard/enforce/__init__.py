"""Eviction: isolate a device at its switch port (port shutdown or quarantine VLAN), journalled, restorable.

``plan`` finds where a device is and what the port looks like now; ``guards``
says why an action must not run; ``actions`` does the SNMP SETs with read-back;
``apply`` runs one planned action through the journal; ``restore`` undoes one.
"""
