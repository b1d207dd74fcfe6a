"""One command's verdict: the command rules evaluated over its facts, and its ``bastion-command`` event.

An exec request is judged before it runs (a deny refuses it); an interactive
line is judged when the user presses Enter (a deny drops the line). Either way
the command becomes one event with its verdict and the first matching rule.
"""

from __future__ import annotations

from datetime import datetime

from bastion.command_rules import command_facts
from bastion.context import Bastion
from bastion.policy import Access
from rules.model import Action


def judge(
    bastion: Bastion,
    user: str,
    source_ip: str,
    access: Access,
    command: str,
    interactive: bool,
    session_id: str,
    source: str = "",
) -> bool:
    """Evaluate command rules, emit the command event; True if the command may run."""
    facts = command_facts(
        command,
        user=user,
        account=access.account,
        target=access.target.name,
        target_groups=access.target.groups,
        interactive=interactive,
        at=datetime.now().astimezone(),
    )
    verdict = bastion.rules.evaluate(facts)
    action = verdict.action
    word = "denied" if action is Action.DENY else "warned" if action is Action.WARN else "allowed"
    first = verdict.matches[0] if verdict.matches else None
    bastion.emit(
        "bastion-command",
        {
            "event.action": "line" if interactive else "exec",
            "event.outcome": "failure" if word == "denied" else "success",
            "user.name": user,
            "source.ip": source_ip,
            "netguard.bastion.session_id": session_id,
            "netguard.bastion.account": access.account,
            "destination.address": access.target.name,
            "destination.port": access.target.port,
            "process.command_line": command,
            "netguard.bastion.verdict": word,
            "netguard.bastion.channel": "shell" if interactive else "exec",
            "rule.id": first.id if first else None,
            "rule.name": first.title if first else None,
            "rule.reference": first.references[0] if first and first.references else None,
            "rule.ruleset": first.pack if first else None,
            "netguard.risk": verdict.severity.value if verdict.severity else None,
            "tags": [f"reconstructed-from-{source}"] if source == "echo" else None,
            "message": f"{user} {'ran' if not interactive else 'entered'} on "
            f"{access.account}@{access.target.name}: {command}"[:500],
        },
    )
    return action is not Action.DENY
