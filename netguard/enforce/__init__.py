"""Eviction: isolate a device at its switch port (port shutdown or quarantine VLAN) or, on a segment
without a managed switch, by ARP; journalled, restorable.

``plan`` finds where a device is and what the port looks like now; ``guards``
says why an action must not run; ``actions`` does the SNMP SETs with read-back;
``journalled`` holds the journal steps every action and restore shares (guards,
limit, intent, outcome); ``apply`` runs one planned port action through them;
``restore`` undoes one.
ARP isolation: ``arp_plan`` (where, live MACs, guards), ``arp_isolate``
(poison, check, restore), ``arp_frames`` and ``arp_link`` (frames and the raw
socket), ``hold`` (keeping isolations in force).
"""
