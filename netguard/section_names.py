"""The top-level keys of ``netguard.yaml``: the one list of names.

The core keys are read by :mod:`netguard.config`; each capability's section is
read by that capability's own code (:class:`netguard.section.Section`). Only
the *names* live here, so that an unknown top-level key (``evnets``) is refused
with a "did you mean" while a capability adds its settings without editing the
configuration module: a new capability adds one name below and nothing else.
"""

from __future__ import annotations

CORE = ("inventory", "secrets_file", "state", "events")
CAPABILITIES = ("discovery", "enforce", "links", "scan", "audit", "bastion")
KNOWN = CORE + CAPABILITIES
