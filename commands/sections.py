"""The capability sections ``config show`` and ``config check`` read, one entry per capability.

Each capability declares its :class:`netguard.section.Section` in its own
package; this tuple (in the command layer, which already imports the
capabilities) is where they meet, so there is no registry and no global
mutable state. A section present in ``netguard.yaml`` with no entry here is
reported by ``config check`` as read by nothing.
"""

from __future__ import annotations

from typing import Any

from audit.settings import AUDIT
from bastion.settings import BASTION
from netguard.compliance.settings import SCAN
from netguard.discovery.settings import DISCOVERY
from netguard.enforce.settings import ENFORCE
from netguard.links.settings import LINKS
from netguard.section import Section

SECTIONS: tuple[Section[Any], ...] = (AUDIT, BASTION, DISCOVERY, ENFORCE, LINKS, SCAN)
