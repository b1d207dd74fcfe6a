"""MAC and IP spellings, normalised once for the whole foundation.

Switches, spreadsheets and people write the same MAC as ``AA-BB-CC-DD-EE-FF``,
``aabb.ccdd.eeff``, ``AA BB CC DD EE FF`` or ``aabbccddeeff``; the inventory,
the state store and the event store all keep ``aa:bb:cc:dd:ee:ff`` so that a
lookup finds a device however it was spelled. Shortened octets (``a:b:c:d:e:f``)
and mixed separators are refused: in an allowlist they are far more often a
typo than a spelling.

Interface names, which the configuration gives to say which leg of this host
faces a segment, are checked here too, the same for every section.
"""

from __future__ import annotations

import ipaddress
import re

_CANONICAL = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
_MAC_FORMS = re.compile(
    r"""^(?:
        [0-9a-f]{2}(?P<s>[:\- ])[0-9a-f]{2}(?:(?P=s)[0-9a-f]{2}){4}   # aa:bb:..  aa-bb-..  aa bb ..
      | [0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}                         # aabb.ccdd.eeff (Cisco)
      | [0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}                           # aabb-ccdd-eeff (Huawei, H3C)
      | [0-9a-f]{12}                                                  # aabbccddeeff
    )$""",
    re.VERBOSE,
)
_NOT_HEX = re.compile(r"[^0-9a-f]")
# Linux interface names (dev_valid_name): at most 15 (IFNAMSIZ less the NUL), no '/', ':' or whitespace.
_IFNAME = re.compile(r"[^/:\s]{1,15}")


def normalize_mac(text: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` for the usual spellings, in any case; ValueError otherwise."""
    candidate = text.strip().lower()
    if _CANONICAL.match(candidate):
        return candidate  # the common case: skip the general parse
    if not _MAC_FORMS.match(candidate):
        raise ValueError(f"'{text}' is not a valid MAC address")
    digits = _NOT_HEX.sub("", candidate)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def normalize_ip(text: str) -> str:
    """The compressed form of an IPv4 or IPv6 address; IPv4-mapped IPv6 folds to IPv4 (as Elasticsearch does)."""
    addr = ipaddress.ip_address(text.strip())
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def is_interface_name(text: str) -> bool:
    """True for a name Linux accepts for a network interface (``eth1``, ``ens19.107``).

    The kernel's limit (IFNAMSIZ - 1) is 15 bytes, not characters: a non-ASCII name is
    counted in its UTF-8 bytes.
    """
    return _IFNAME.fullmatch(text) is not None and len(text.encode("utf-8", "surrogatepass")) <= 15
