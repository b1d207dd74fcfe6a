"""The bastion's connection to the target of an access, with the account's credential from the vault."""

from __future__ import annotations

import paramiko

from bastion.context import Bastion
from bastion.directory import vault_name
from bastion.policy import Access
from bastion.upstream import Credential, connect
from netguard.errors import NetGuardError


def open_upstream(bastion: Bastion, access: Access) -> paramiko.Transport:
    """An authenticated transport to the access's account on its target, with the vault's
    credential; raises HostKeyError on a key mismatch, NetGuardError for anything else."""
    name, account = access.target.name, access.account
    kind = next((a.kind for a in bastion.directory().accounts(name) if a.account == account), None)
    if kind is None:
        raise NetGuardError(f"no account {account} on {name} any more")
    credential = Credential(kind, bastion.vault.get(vault_name(name, account)))
    return connect(access.target, account, credential, bastion.settings.target_timeout.total_seconds())
