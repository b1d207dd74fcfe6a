"""The events of a relayed session: its start and end (or kill), its file transfers and SFTP operations."""

from __future__ import annotations

from bastion.context import Emit
from bastion.live import LiveSession
from bastion.policy import Access
from bastion.sftp_audit import FileOperation, Transfer


def _relayed(live: LiveSession, access: Access) -> dict[str, object]:
    """Who relayed through which session to which account and target: what every event of a session names."""
    return {
        "user.name": live.user,
        "source.ip": live.source_ip,
        "netguard.bastion.session_id": live.id,
        "netguard.bastion.account": live.account,
        "destination.address": access.target.name,
    }


def session_event(emit: Emit, live: LiveSession, access: Access, action: str, sha: str | None = None) -> None:
    emit(
        "bastion-session",
        {
            "event.action": action,
            "event.outcome": "success",
            **_relayed(live, access),
            "destination.port": access.target.port,
            "netguard.bastion.channel": live.kind,
            "netguard.bastion.recording": str(live.recording),
            "netguard.bastion.recording_sha256": sha,
            "netguard.bastion.terminated_by": live.killed_by,
            "source.bytes": live.bytes_in if action != "start" else None,
            "destination.bytes": live.bytes_out if action != "start" else None,
            "network.protocol": "sftp" if live.kind == "sftp" else "ssh",
            "message": f"bastion session {live.id[:12]} {action}: {live.user} → {live.account}@{access.target.name}"
            + (f" (ended by {live.killed_by})" if live.killed_by else ""),
        },
    )


def transfer_event(emit: Emit, live: LiveSession, access: Access, transfer: Transfer) -> None:
    live.marker(f"netguard: {transfer.direction} {transfer.path} {transfer.size} bytes")
    emit(
        "file-transfer",
        {
            "event.action": transfer.direction,
            "event.outcome": "success" if transfer.ok else "failure",
            **_relayed(live, access),
            "destination.port": access.target.port,
            "file.path": transfer.path,
            "file.size": transfer.size,
            "file.hash.sha256": transfer.sha256,
            "netguard.file.direction": transfer.direction,
            "network.protocol": "sftp",
            "message": f"{live.user} {transfer.direction}ed {transfer.path} ({transfer.size} bytes) "
            f"{'to' if transfer.direction == 'upload' else 'from'} {live.account}@{access.target.name}",
        },
    )


def operation_event(emit: Emit, live: LiveSession, access: Access, op: FileOperation) -> None:
    text = f"sftp {op.operation} {op.path}" + (f" {op.target}" if op.target else "")
    emit(
        "bastion-command",
        {
            "event.action": "exec",
            "event.outcome": "success" if op.ok else "failure",
            **_relayed(live, access),
            "process.command_line": text,
            "netguard.bastion.verdict": "allowed",
            "netguard.bastion.channel": "sftp",
            "message": f"{live.user} on {live.account}@{access.target.name}: {text}",
        },
    )
