"""One SNMP agent to talk to: address, version, resolved credentials, timing.

:class:`SnmpTarget` holds *resolved* secrets (:class:`~netguard.secrets.Secret`,
whose repr is redacted), so it is built at the point of use: from an inventory
switch with :func:`target_for_switch`, or from command-line options. ``label``
(``host:port``, plus the v3 context when there is one) is what every message
and result names the device by.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netguard.errors import NetGuardError
from netguard.inventory.model import SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS, SnmpCredentials, Switch
from netguard.secrets import Secret, SecretRef, SecretResolver

DEFAULT_PORT = 161


class TargetError(NetGuardError):
    """A device address or its SNMP settings cannot be used."""


@dataclass(frozen=True)
class SnmpTarget:
    """Where and how to ask. ``timeout`` is per request, in seconds; ``retries`` after the first try."""

    host: str
    port: int = DEFAULT_PORT
    version: str = "2c"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: Secret | None = None
    priv_protocol: str | None = None
    priv_key: Secret | None = None
    context: str = ""
    timeout: float = 2.0
    retries: int = 1

    def __post_init__(self) -> None:
        if self.version not in ("2c", "3"):
            raise TargetError(f"SNMP version must be 2c or 3, not '{self.version}'")
        if not 0 < self.port < 65536:
            raise TargetError(f"port {self.port} is out of range")
        if self.timeout <= 0 or self.retries < 0:
            raise TargetError("timeout must be positive and retries not negative")
        if self.version == "2c" and self.community is None:
            raise TargetError(f"{self.label}: SNMP v2c needs a community")
        if self.version == "3":
            if not self.user:
                raise TargetError(f"{self.label}: SNMP v3 needs a user")
            if self.auth_protocol and self.auth_protocol.upper() not in SNMP_AUTH_PROTOCOLS:
                raise TargetError(f"unknown auth protocol '{self.auth_protocol}' ({', '.join(SNMP_AUTH_PROTOCOLS)})")
            if self.priv_protocol and self.priv_protocol.upper() not in SNMP_PRIV_PROTOCOLS:
                raise TargetError(f"unknown privacy protocol '{self.priv_protocol}' ({', '.join(SNMP_PRIV_PROTOCOLS)})")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise TargetError(f"{self.label}: an auth protocol needs an auth key and the other way round")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise TargetError(f"{self.label}: a privacy protocol needs a privacy key and the other way round")
            if self.priv_protocol and not self.auth_protocol:
                raise TargetError(f"{self.label}: privacy needs authentication (authPriv)")

    @property
    def is_ipv6(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).version == 6
        except ValueError:
            return False

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if self.is_ipv6 else self.host
        ctx = f"/{self.context}" if self.context else ""
        return f"{host}:{self.port}{ctx}"


def split_host_port(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or a bare IPv6 address."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if not sep or (rest and not rest.startswith(":")):
            raise TargetError(f"'{text}' is not HOST[:PORT]")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise TargetError(f"'{text}' names no host")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise TargetError(f"'{port_text}' in '{text}' is not a UDP port")
    return host, int(port_text)


def target_for_switch(
    switch: Switch, resolver: SecretResolver, *, timeout: float = 2.0, retries: int = 1, context: str = ""
) -> SnmpTarget:
    """The target for an inventory switch, its references resolved now."""
    return target_from_credentials(
        str(switch.management), switch.snmp, resolver, timeout=timeout, retries=retries, context=context
    )


def target_from_credentials(
    host: str,
    creds: SnmpCredentials,
    resolver: SecretResolver,
    *,
    timeout: float = 2.0,
    retries: int = 1,
    context: str = "",
) -> SnmpTarget:
    def resolve(ref: SecretRef | None) -> Secret | None:
        return None if ref is None else resolver.resolve(ref)

    return SnmpTarget(
        host=host,
        port=creds.port,
        version=creds.version,
        community=resolve(creds.community),
        user=creds.user,
        auth_protocol=creds.auth_protocol,
        auth_key=resolve(creds.auth_key),
        priv_protocol=creds.priv_protocol,
        priv_key=resolve(creds.priv_key),
        context=context,
        timeout=timeout,
        retries=retries,
    )
