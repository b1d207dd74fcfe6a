"""Link checks: is every institution's link to the county up, and how good is it?

One module per job: :mod:`~netguard.links.icmp` pings every gateway from one
process as fping does (:mod:`~netguard.links.icmp_packet` builds and reads the
messages), :mod:`~netguard.links.tcp` connects to the inventory's services,
:mod:`~netguard.links.classify` holds the thresholds per tier and gives the
verdict, :mod:`~netguard.links.check` runs it all on one event loop,
:mod:`~netguard.links.recording` writes the state store and ``link`` events,
:mod:`~netguard.links.history` reads the trend back, :mod:`~netguard.links.settings`
parses the ``links`` section of ``netguard.yaml``, and
:mod:`~netguard.links.records` holds the frozen records they pass around.

Import from the modules themselves: this package imports none of them, so a
process that only probes (the runner's ICMP collector, bench/links.py) does not
pay for loading the inventory, the stores and the event schema.
"""
