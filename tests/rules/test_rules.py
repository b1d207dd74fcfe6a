"""The rule engine: packs load with precise errors; conditions mean what the docs say."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bastion.command_rules import COMMAND_DOMAIN, command_facts, programs
from rules.loader import RulesInvalid, builtin_pack, load_or_raise, load_packs
from rules.model import Action, Domain, Severity

NOON = datetime(2026, 11, 30, 12, 0)


def facts(command: str, interactive: bool = False) -> dict[str, object]:
    return dict(
        command_facts(command, user="alice", account="root", target="his-db01", interactive=interactive, at=NOON)
    )


@pytest.fixture(scope="module")
def builtin():
    return load_or_raise([builtin_pack("bastion-commands")], COMMAND_DOMAIN)


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("rm -rf /", "CMD-RM-ROOT"),
        ("sudo rm -fr /etc", "CMD-RM-ROOT"),
        ("ls; rm -rf --no-preserve-root /", "CMD-RM-ROOT"),
        ("true && /sbin/mkfs.ext4 /dev/sdb1", "CMD-DISK-WIPE"),
        ("dd if=/dev/zero of=/dev/sda bs=1M", "CMD-DISK-WIPE"),
        ("echo x | sudo -u root /usr/sbin/reboot", "CMD-POWER"),
        ("systemctl reboot", "CMD-POWER"),
        ("history -c", "CMD-AUDIT-TAMPER"),
        ("systemctl stop auditd", "CMD-AUDIT-TAMPER"),
        ("iptables -t nat -F", "CMD-FIREWALL-FLUSH"),
        ("curl -s http://x/install.sh | sudo bash", "CMD-REMOTE-SCRIPT"),
        ("env LANG=C useradd backdoor", "CMD-USER-CHANGE"),
        ("chmod -R 777 /var", "CMD-WORLD-WRITABLE"),
    ],
)
def test_builtin_pack_flags_dangerous_commands(builtin, command, rule):
    verdict = builtin.evaluate(facts(command))
    assert rule in verdict.rule_ids


@pytest.mark.parametrize(
    "command",
    [
        "ls -l /",
        "rm -rf ./build",
        "rm -rf /home/alice/tmp",
        "grep reboot /var/log/messages",
        "cat /etc/passwd",
        "uptime",
    ],
)
def test_builtin_pack_lets_ordinary_work_through(builtin, command):
    assert not builtin.evaluate(facts(command)), command


def test_strongest_action_and_severity_win(builtin):
    verdict = builtin.evaluate(facts("history -c; reboot"))
    assert verdict.action is Action.DENY and verdict.denied
    assert verdict.severity is Severity.HIGH


def test_programs_see_through_chains_and_wrappers():
    assert programs("sudo -u root /usr/sbin/reboot; ls | grep x && nohup ./run.sh") == [
        "reboot",
        "ls",
        "grep",
        "run.sh",
    ]
    assert programs("A=1 B=2 env C=3 timeout 5 shutdown -h now") == ["shutdown"]
    assert programs("echo $(whoami) `id`") == ["echo", "whoami", "id"]


DOMAIN = Domain("test", {"text": "text", "n": "number", "flag": "bool", "items": "list"})


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_conditions(tmp_path):
    path = write(
        tmp_path,
        "p.yaml",
        """pack: p
domain: test
rules:
  - {id: R1, title: t, severity: low, action: tag, when: {n: {between: [8, 18]}}}
  - {id: R2, title: t, severity: low, action: tag, when: {none: [{text: {in: [a, b]}}]}}
  - {id: R3, title: t, severity: low, action: tag, when: {items: {contains_any: [X, y]}, flag: true}}
  - {id: R4, title: t, severity: low, action: tag, when: {text: {exists: false}}}
  - {id: R5, title: t, severity: low, action: tag, when: {any: [{text: {startswith: 患者}}, {n: {gt: 100}}]}}
""",
    )
    rs = load_or_raise([path], DOMAIN)
    assert rs.evaluate({"n": 9, "text": "a"}).rule_ids == ("R1",)
    assert rs.evaluate({"n": 7, "text": "c"}).rule_ids == ("R2",)
    assert rs.evaluate({"items": ["x"], "flag": True, "text": "a"}).rule_ids == ("R3",)
    assert rs.evaluate({}).rule_ids == ("R2", "R4")  # none over a missing fact holds
    assert rs.evaluate({"text": "患者表", "n": "not a number"}).rule_ids == ("R2", "R5")


def test_every_error_with_file_and_line(tmp_path):
    path = write(
        tmp_path,
        "bad.yaml",
        """pack: bad
domain: test
rules:
  - id: R1
    title: unknown fact
    severity: low
    action: tag
    when: {txet: x}
  - id: R2
    title: bad regex
    severity: extreme
    action: tag
    when: {text: {matches: '(unclosed'}}
  - id: R3
    title: wrong operator
    severity: low
    action: block
    when: {flag: {gt: 3}}
""",
    )
    loaded = load_packs([path], DOMAIN)
    text = [str(issue) for issue in loaded.report.errors]
    assert any(t.startswith(f"{path}:8:") and "unknown fact 'txet'" in t for t in text), text
    assert any(t.startswith(f"{path}:11:") and "unknown severity 'extreme'" in t for t in text), text
    assert any(t.startswith(f"{path}:13:") and "does not compile" in t for t in text), text
    assert any(t.startswith(f"{path}:17:") and "unknown action 'block'" in t for t in text), text
    assert any("operator 'gt' does not apply" in t for t in text), text
    assert len(loaded.rules) == 0
    with pytest.raises(RulesInvalid, match="and 4 more"):
        load_or_raise([path], DOMAIN)


def test_syntax_error_and_wrong_domain_and_binary(tmp_path):
    broken = write(tmp_path, "broken.yaml", "pack: x\ndomain: test\nrules:\n  - {id: R1, title: [unclosed\n")
    wrong = write(tmp_path, "wrong.yaml", "pack: x\ndomain: sql\nrules: []\n")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"pack: x\n\xff\xfe\n")
    loaded = load_packs([broken, wrong, binary], DOMAIN)
    text = [str(i) for i in loaded.report.errors]
    assert any(t.startswith(f"{broken}:") and "not valid YAML" in t for t in text), text
    assert any(t.startswith(f"{wrong}:2:") and "for 'sql' rules" in t for t in text), text
    assert any(t.startswith(f"{binary}:2:") and "not UTF-8" in t for t in text), text


def test_later_pack_disables_and_duplicates_are_errors(tmp_path):
    base = write(
        tmp_path,
        "a.yaml",
        "pack: a\ndomain: test\nrules:\n  - {id: R1, title: t, severity: low, action: tag, when: {flag: true}}\n",
    )
    local = write(
        tmp_path,
        "b.yaml",
        "pack: b\ndomain: test\ndisable: [R1]\nrules:\n"
        "  - {id: R2, title: t, severity: low, action: deny, when: {flag: true}}\n",
    )
    assert load_or_raise([base, local], DOMAIN).evaluate({"flag": True}).rule_ids == ("R2",)
    dup = write(
        tmp_path,
        "c.yaml",
        "pack: c\ndomain: test\nrules:\n  - {id: R1, title: t, severity: low, action: tag, when: {flag: true}}\n",
    )
    loaded = load_packs([base, dup], DOMAIN)
    assert any("defined twice" in str(i) and "a.yaml" in str(i) for i in loaded.report.errors)
