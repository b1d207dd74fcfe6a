"""The county inventory: institutions in three tiers, their subnets, switches,
servers and authorised devices, the assets never to be evicted and the
devices banned everywhere.

Load it with :func:`load_inventory` (valid or raises), check a file with
:func:`check_inventory` (every error with its line), narrow it with
:class:`F` filters (on institutions, switches, servers and devices) and
:func:`scope_filter` (the ``--institution/--township/--tier`` options). The
YAML format is described in docs/inventory.md.
"""

from netguard.inventory.csvimport import ImportResult, import_csv
from netguard.inventory.filter import F, Filter, Predicate
from netguard.inventory.inventory import Inventory
from netguard.inventory.issues import Issue, Location, Report, Severity, Source
from netguard.inventory.loader import Checked, InventoryInvalid, check_inventory, check_text, load_inventory
from netguard.inventory.model import (
    DEVICE_KINDS,
    INSTITUTION_KINDS,
    SERVICE_PROTOCOLS,
    BannedDevice,
    Defaults,
    Device,
    Institution,
    IPAddress,
    IPNetwork,
    ProtectedAsset,
    Server,
    Service,
    Settings,
    SnmpCredentials,
    Subnet,
    Switch,
    Tier,
    mac_vendor,
)
from netguard.inventory.scope import scope_filter
from netguard.inventory.summary import SummaryRow, by_tier, by_township, totals
from netguard.inventory.views import RecordView

__all__ = [
    "DEVICE_KINDS",
    "INSTITUTION_KINDS",
    "SERVICE_PROTOCOLS",
    "BannedDevice",
    "Checked",
    "Defaults",
    "Device",
    "F",
    "Filter",
    "IPAddress",
    "IPNetwork",
    "ImportResult",
    "Institution",
    "Inventory",
    "InventoryInvalid",
    "Issue",
    "Location",
    "Predicate",
    "ProtectedAsset",
    "RecordView",
    "Report",
    "Server",
    "Service",
    "Settings",
    "Severity",
    "SnmpCredentials",
    "Source",
    "Subnet",
    "SummaryRow",
    "Switch",
    "Tier",
    "by_tier",
    "by_township",
    "check_inventory",
    "check_text",
    "import_csv",
    "load_inventory",
    "mac_vendor",
    "scope_filter",
    "totals",
]
