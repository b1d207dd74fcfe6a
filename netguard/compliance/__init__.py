"""Compliance scans: collect evidence, evaluate the controls, record and report.

One module per job: :mod:`~netguard.compliance.model` holds the records and the
``compliance`` rule domain, :mod:`~netguard.compliance.controls` loads the
control packs, :mod:`~netguard.compliance.network` and
:mod:`~netguard.compliance.stores` collect evidence (probes on the network;
reads of the state and event stores), :mod:`~netguard.compliance.evaluate`
turns evidence and controls into results, :mod:`~netguard.compliance.scan`
runs it all and records it, :mod:`~netguard.compliance.settings` parses the
``scan`` section of ``netguard.yaml`` and :mod:`~netguard.compliance.html`
renders the offline report.
"""
