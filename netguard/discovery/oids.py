"""The OIDs discovery walks (numeric, so no MIB files are needed at run time).

Columns are walked one by one: a GETBULK on one column returns only that
column, which keeps each walk's rows of one type and lets a missing column
(a switch without ifAlias, without Q-BRIDGE) simply come back empty.
"""

from __future__ import annotations

from netguard.snmp.values import Oid

# SNMPv2-MIB system group (scalars, .0 instance)
SYS_DESCR: Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_CONTACT: Oid = (1, 3, 6, 1, 2, 1, 1, 4, 0)
SYS_NAME: Oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SYS_LOCATION: Oid = (1, 3, 6, 1, 2, 1, 1, 6, 0)

# IF-MIB ifTable / ifXTable columns, indexed by ifIndex
IF_DESCR: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_TYPE: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 3)
IF_SPEED: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 5)
IF_PHYS_ADDRESS: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 6)
IF_ADMIN_STATUS: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 7)
IF_OPER_STATUS: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
IF_NAME: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
IF_HIGH_SPEED: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15)
IF_ALIAS: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18)

# BRIDGE-MIB
DOT1D_BASE_BRIDGE_ADDRESS: Oid = (1, 3, 6, 1, 2, 1, 17, 1, 1, 0)
DOT1D_BASE_PORT_IFINDEX: Oid = (1, 3, 6, 1, 2, 1, 17, 1, 4, 1, 2)  # .<bridge port> = ifIndex
DOT1D_TP_FDB_PORT: Oid = (1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 2)  # .<mac 6> = bridge port
DOT1D_TP_FDB_STATUS: Oid = (1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 3)

# Q-BRIDGE-MIB
DOT1Q_TP_FDB_PORT: Oid = (1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 2)  # .<fdb id>.<mac 6> = bridge port
DOT1Q_TP_FDB_STATUS: Oid = (1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 3)
DOT1Q_VLAN_FDB_ID: Oid = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 2, 1, 3)  # .<time mark>.<vlan> = fdb id
DOT1Q_PVID: Oid = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 5, 1, 1)  # .<bridge port> = VLAN

# IP-MIB ARP
IP_NET_TO_MEDIA_PHYS: Oid = (1, 3, 6, 1, 2, 1, 4, 22, 1, 2)  # .<ifIndex>.<a.b.c.d> = MAC
IP_NET_TO_PHYSICAL_PHYS: Oid = (1, 3, 6, 1, 2, 1, 4, 35, 1, 4)  # .<ifIndex>.<type>.<len>.<addr> = MAC

# LLDP-MIB
LLDP_LOC_PORT_ID_SUBTYPE: Oid = (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1, 2)  # .<local port>
LLDP_LOC_PORT_ID: Oid = (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1, 3)
LLDP_REM_CHASSIS_ID_SUBTYPE: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 4)  # .<time mark>.<local port>.<index>
LLDP_REM_CHASSIS_ID: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 5)
LLDP_REM_PORT_ID_SUBTYPE: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 6)
LLDP_REM_PORT_ID: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 7)
LLDP_REM_PORT_DESC: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 8)
LLDP_REM_SYS_NAME: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 9)
LLDP_REM_SYS_DESC: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1, 10)

IF_ADMIN_STATUS_NAMES = {1: "up", 2: "down", 3: "testing"}
IF_OPER_STATUS_NAMES = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
FDB_STATUS_NAMES = {1: "other", 2: "invalid", 3: "learned", 4: "self", 5: "mgmt"}
