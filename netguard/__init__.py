"""NetGuard: security and network governance for a county health intranet.

The foundation lives here (inventory, state store, event store, configuration,
secrets); the network-side capabilities (discovery, enforcement, links,
compliance) build on it. ``audit`` and ``bastion`` are sibling packages that
import this foundation; the foundation imports neither.
"""

__version__ = "0.1.0"
