"""``netguard bastion``: administer and run the SSH bastion (users, targets, accounts, grants, sessions)."""

from __future__ import annotations

import getpass
import json
import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bastion import control, totp
from bastion.asciicast import read as read_cast
from bastion.directory import Directory, PublicKey, parse_hours, totp_vault_name, vault_name
from bastion.hostkeys import fetch_host_key, load_private_key
from bastion.lockout import Lockouts
from bastion.passwords import hash_password
from bastion.server import Server
from bastion.service import EventWriter, build, init, open_vault
from bastion.sessions import SessionLog
from bastion.settings import BASTION, BastionSettings, parse_listen
from bastion.settings import settings as settings_from
from commands.context import AppContext, pass_app
from commands.output import echo, json_option, plural, print_json
from commands.tables import Column, print_table
from netguard.errors import EXIT_FINDINGS, NetGuardError
from netguard.events import open_event_store
from netguard.inventory import load_inventory
from netguard.store import journal_key
from netguard.store.db import connect


def _settings(app: AppContext) -> BastionSettings:
    config = app.config
    return settings_from(config.section(BASTION), config.state_path)


def _directory(app: AppContext) -> Directory:
    return Directory(connect(app.config.state_path))


def _operator() -> str:
    return getpass.getuser()


@click.group()
def bastion() -> None:
    """The SSH bastion: every admin session recorded.

    Admins reach servers only through it; it holds the credentials, records every
    session and logs every command and file transfer (see docs/bastion.md).
    """


@bastion.command(name="init")
@json_option
@pass_app
def init_(app: AppContext, as_json: bool) -> None:
    """Create the host key, vault and recordings folder.

    Files are 0600, folders 0700; a second run changes nothing.
    """
    report = init(_settings(app))
    connect(app.config.state_path).close()
    if as_json:
        print_json({"created": list(report.created), "kept": list(report.kept)})
        return
    for path in report.created:
        echo(f"created  {path}")
    for path in report.kept:
        echo(f"kept     {path}")


# -- users -----------------------------------------------------------------------------------------


@bastion.group()
def user() -> None:
    """Bastion users: public keys, or a password plus TOTP."""


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise NetGuardError("the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        raise NetGuardError("no password on standard input")
    return line


@user.command(name="add")
@click.argument("name")
@click.option(
    "--key", "keys", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Public key file (repeatable)."
)
@click.option("--password", is_flag=True, help="Set a password (read from the terminal, or one line of stdin).")
@click.option(
    "--totp", "with_totp", is_flag=True, help="Require a TOTP code after the password; prints the otpauth:// URI once."
)
@click.option(
    "--totp-uri-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the otpauth:// URI to this new file (mode 0600) instead of printing it; required with --json.",
)
@click.option("--group", "groups", multiple=True, help="Add the user to GROUP (repeatable).")
@json_option
@pass_app
def user_add(
    app: AppContext,
    name: str,
    keys: tuple[str, ...],
    password: bool,
    with_totp: bool,
    totp_uri_file: Path | None,
    groups: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add a user with public keys and/or a password (and TOTP).

    The otpauth:// URI carries the TOTP secret itself. It is enrolment material
    shown once, so it goes to the terminal or to a 0600 file, never into --json
    output, which scripts keep in logs and tickets.
    """
    if not keys and not password:
        raise NetGuardError("give --key FILE and/or --password: a user needs a way to log in")
    if with_totp and not password:
        raise NetGuardError("--totp is a second factor after --password")
    if totp_uri_file is not None and not with_totp:
        raise NetGuardError("--totp-uri-file goes with --totp")
    if with_totp and as_json and totp_uri_file is None:
        raise NetGuardError(
            "--json output never carries the TOTP secret: add --totp-uri-file FILE to receive the otpauth:// URI"
        )
    if totp_uri_file is not None and totp_uri_file.exists():
        raise NetGuardError(f"{totp_uri_file} exists: the URI goes to a new file only")
    if totp_uri_file is not None and not totp_uri_file.parent.is_dir():
        raise NetGuardError(f"{totp_uri_file.parent} is not a directory")
    parsed = []
    for file in keys:
        for number, line in enumerate(Path(file).read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip() and not line.startswith("#"):
                parsed.append(PublicKey.parse(line, f"{file}:{number}"))
    pw_hash = hash_password(_read_password(f"password for {name}: ")) if password else None
    directory = _directory(app)
    uri = None
    if with_totp:
        secret = totp.new_secret()
        open_vault(_settings(app), app.config.resolver()).put(totp_vault_name(name), "password", secret.encode())
        uri = totp.provisioning_uri(secret, name)
    created = directory.add_user(name, password_hash=pw_hash, totp=with_totp, keys=parsed)
    if groups:
        directory.set_groups(name, list(groups), [])
    if uri is not None and totp_uri_file is not None:
        _write_new_private(totp_uri_file, uri + "\n")
    if as_json:
        print_json(
            {
                "user": created.name,
                "keys": [k.fingerprint for k in parsed],
                "totp": with_totp,
                "totp_uri_file": str(totp_uri_file) if totp_uri_file is not None else None,
            }
        )
        return
    echo(f"added user {name} ({len(parsed)} key(s){', password' if password else ''}{', TOTP' if uri else ''})")
    if uri is not None and totp_uri_file is not None:
        echo(f"the otpauth:// URI is in {totp_uri_file} (mode 0600): enrol it, then delete the file")
    elif uri is not None:
        echo("scan this once in an authenticator app (it is not shown again):")
        echo(uri)


def _write_new_private(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 from its first byte; never overwrite (a secret goes to a new file)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise NetGuardError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


@user.command(name="list")
@json_option
@pass_app
def user_list(app: AppContext, as_json: bool) -> None:
    """Users, their factors and groups."""
    users = _directory(app).users()
    if as_json:
        print_json(
            [
                {
                    "name": u.name,
                    "keys": [k.fingerprint for k in u.keys],
                    "password": bool(u.password_hash),
                    "totp": u.totp,
                    "groups": list(u.groups),
                    "disabled": u.disabled,
                }
                for u in users
            ]
        )
        return
    print_table(
        f"bastion users ({len(users)})",
        [
            Column("user", keep=True),
            Column("keys", justify="right"),
            Column("password"),
            Column("totp"),
            Column("groups"),
        ],
        [
            [u.name, len(u.keys), "yes" if u.password_hash else "", "yes" if u.totp else "", ", ".join(u.groups)]
            for u in users
        ],
    )


@user.command(name="remove")
@click.argument("name")
@pass_app
def user_remove(app: AppContext, name: str) -> None:
    """Remove a user (live sessions go on until they end or are killed)."""
    _directory(app).remove_user(name)
    echo(f"removed user {name}")


@user.command(name="unlock")
@click.argument("name")
@pass_app
def user_unlock(app: AppContext, name: str) -> None:
    """Lift a lockout of a user (or, with an address, of a source)."""
    lockouts = Lockouts(connect(app.config.state_path), _settings(app).lockout)
    kind = "source" if any(c in name for c in ".:") and not name.isalnum() else "user"
    if not lockouts.unlock(kind, name):
        raise NetGuardError(f"{name} is not locked out")
    echo(f"unlocked {kind} {name}")


@user.command(name="group")
@click.argument("name")
@click.option("--add", "add", multiple=True, help="Group to add the user to.")
@click.option("--remove", "remove", multiple=True, help="Group to take the user out of.")
@pass_app
def user_group(app: AppContext, name: str, add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """Change a user's groups."""
    _directory(app).set_groups(name, list(add), list(remove))


# -- targets and accounts --------------------------------------------------------------------------


@bastion.group()
def target() -> None:
    """Servers behind the bastion and their host keys."""


@target.command(name="add")
@click.argument("name")
@click.option("--address", required=True, help="Address or host name of the server.")
@click.option("--port", default=22, show_default=True, type=click.IntRange(1, 65535), help="SSH port.")
@click.option("--group", "groups", multiple=True, help="Target group (repeatable).")
@pass_app
def target_add(app: AppContext, name: str, address: str, port: int, groups: tuple[str, ...]) -> None:
    """Add a target; pin its host key next with `target trust`."""
    _directory(app).add_target(name, address, port, list(groups))
    echo(f"added target {name}; now run: netguard bastion target trust {name}")


@target.command(name="import")
@click.option(
    "--inventory",
    "inventory_file",
    type=click.Path(dir_okay=False),
    help="Inventory file (default: the configured one).",
)
@json_option
@pass_app
def target_import(app: AppContext, inventory_file: str | None, as_json: bool) -> None:
    """Add the inventory's SSH servers as targets.

    Every server with an ssh service, grouped by institution and role.
    """
    inventory = load_inventory(app.inventory_path(inventory_file))
    directory = _directory(app)
    added: list[dict[str, Any]] = []
    kept = 0
    for server in inventory.servers():
        ssh = next(
            (svc for svc in server.services if svc.name == "ssh" or (svc.port == 22 and svc.transport == "tcp")), None
        )
        if ssh is None:
            continue
        if directory.find_target(server.id) is not None:
            kept += 1
            continue
        groups = [g for g in (server.institution, server.role) if g]
        directory.add_target(server.id, str(ssh.address), ssh.port, groups)
        added.append({"target": server.id, "address": str(ssh.address), "port": ssh.port, "groups": groups})
    if as_json:
        print_json({"added": added, "already_there": kept})
        return
    for row in added:
        echo(f"added {row['target']} {row['address']}:{row['port']} groups {', '.join(row['groups'])}")
    echo(f"{len(added)} added, {kept} already there; pin each key next: netguard bastion target trust NAME")


@target.command(name="trust")
@click.argument("name")
@click.option("--fingerprint", help="The expected SHA256:... fingerprint; without it the key is shown and you confirm.")
@pass_app
def target_trust(app: AppContext, name: str, fingerprint: str | None) -> None:
    """Pin the target's host key.

    Only a key that matches it is accepted afterwards.
    """
    directory = _directory(app)
    t = directory.target(name)
    key = fetch_host_key(t.address, t.port)
    if fingerprint is not None:
        if key.fingerprint != fingerprint.strip():
            raise NetGuardError(f"{name} presents {key.fingerprint}, not {fingerprint}: not pinned")
    else:
        echo(f"{name} ({t.address}:{t.port}) presents {key.key_type} {key.fingerprint}", err=True)
        if not click.confirm("pin this key?", err=True):
            raise NetGuardError("not pinned")
    directory.pin_host_key(name, key.key_type, key.data)
    echo(f"pinned {key.key_type} {key.fingerprint} for {name}")


@target.command(name="list")
@json_option
@pass_app
def target_list(app: AppContext, as_json: bool) -> None:
    """Targets, their pinned keys and accounts."""
    directory = _directory(app)
    targets = directory.targets()
    accounts = directory.accounts()
    if as_json:
        print_json(
            [
                {
                    "name": t.name,
                    "address": t.address,
                    "port": t.port,
                    "groups": list(t.groups),
                    "host_key": t.host_key_fingerprint,
                    "accounts": [a.account for a in accounts if a.target == t.name],
                }
                for t in targets
            ]
        )
        return
    print_table(
        f"bastion targets ({len(targets)})",
        [
            Column("target", keep=True),
            Column("address", keep=True),
            Column("port", keep=True, justify="right"),
            Column("host key", keep=True),
            Column("accounts"),
            Column("groups"),
        ],
        [
            [
                t.name,
                t.address,
                t.port,
                t.host_key_fingerprint or "(not pinned)",
                ", ".join(a.account for a in accounts if a.target == t.name),
                ", ".join(t.groups),
            ]
            for t in targets
        ],
    )


@target.command(name="remove")
@click.argument("name")
@pass_app
def target_remove(app: AppContext, name: str) -> None:
    """Remove a target and its accounts (their vault entries too)."""
    directory = _directory(app)
    accounts = directory.accounts(name)
    directory.remove_target(name)
    vault = open_vault(_settings(app), app.config.resolver())
    for account in accounts:
        vault.remove(account.vault_name)


@bastion.group()
def account() -> None:
    """Accounts on targets; their passwords and keys live in the vault."""


@account.command(name="add")
@click.argument("target_name", metavar="TARGET")
@click.argument("account_name", metavar="ACCOUNT")
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False), help="Private key file for ACCOUNT.")
@click.option("--password", is_flag=True, help="Read ACCOUNT's password (terminal, or one line of stdin).")
@pass_app
def account_add(app: AppContext, target_name: str, account_name: str, key_file: str | None, password: bool) -> None:
    """Store an account's credential in the vault.

    The password or key of ACCOUNT on TARGET; it is never shown again.
    """
    if (key_file is None) == (not password):
        raise NetGuardError("give exactly one of --key FILE or --password")
    directory = _directory(app)
    directory.target(target_name)
    if key_file is not None:
        kind, value = "private-key", Path(key_file).read_bytes()
        load_private_key(value.decode("utf-8", "replace"))
    else:
        kind, value = "password", _read_password(f"password of {account_name}@{target_name}: ").encode()
    open_vault(_settings(app), app.config.resolver()).put(vault_name(target_name, account_name), kind, value)
    directory.add_account(target_name, account_name, kind)
    echo(f"stored {kind} of {account_name}@{target_name} in the vault")


@account.command(name="list")
@json_option
@pass_app
def account_list(app: AppContext, as_json: bool) -> None:
    """Accounts per target (never their secrets)."""
    accounts = _directory(app).accounts()
    if as_json:
        print_json([{"target": a.target, "account": a.account, "kind": a.kind} for a in accounts])
        return
    print_table(
        f"bastion accounts ({len(accounts)})",
        [Column("target", keep=True), Column("account", keep=True), Column("credential")],
        [[a.target, a.account, a.kind] for a in accounts],
    )


@bastion.group()
def vault() -> None:
    """The credential vault: list entries, rotate its key. Secrets are never printed."""


@vault.command(name="list")
@json_option
@pass_app
def vault_list(app: AppContext, as_json: bool) -> None:
    """Entries of the vault: name, kind, key id, last change."""
    entries = list(open_vault(_settings(app), app.config.resolver()).list())
    if as_json:
        print_json([{"name": e.name, "kind": e.kind, "key": e.key_id, "updated": e.updated} for e in entries])
        return
    print_table(
        f"vault entries ({len(entries)})",
        [Column("entry", keep=True), Column("kind"), Column("key"), Column("updated", keep=True)],
        [[e.name, e.kind, e.key_id, e.updated] for e in entries],
    )


@vault.command(name="rotate")
@pass_app
def vault_rotate(app: AppContext) -> None:
    """A new vault key; every entry re-sealed with it; the old key dropped."""
    new, count = open_vault(_settings(app), app.config.resolver()).rotate()
    echo(f"re-sealed {count} entries with key {new}")


# -- grants ----------------------------------------------------------------------------------------


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise NetGuardError(f"{value!r} is not a date or time (2026-12-01 or 2026-12-01T08:00)") from None
    return parsed if parsed.tzinfo else parsed.astimezone()


@bastion.group()
def grant() -> None:
    """Who may use which target and account, when. Everything not granted is denied."""


@grant.command(name="add")
@click.argument("subject", metavar="WHO")
@click.argument("obj", metavar="WHERE")
@click.option("--account", help="Only this account (default: every account of the target).")
@click.option("--from", "valid_from", help="Valid from (date or time, local).")
@click.option("--until", "valid_until", help="Valid until (date or time, local).")
@click.option("--hours", help="Daily hours, local time, e.g. 08:00-18:00.")
@click.option("--allow-forwarding", is_flag=True, help="Allow port and agent forwarding (denied by default).")
@json_option
@pass_app
def grant_add(
    app: AppContext,
    subject: str,
    obj: str,
    account: str | None,
    valid_from: str | None,
    valid_until: str | None,
    hours: str | None,
    allow_forwarding: bool,
    as_json: bool,
) -> None:
    """Grant WHO (a user or @group) access to WHERE (a target or @group)."""
    made = _directory(app).add_grant(
        subject,
        obj,
        account=account,
        valid_from=_when(valid_from),
        valid_until=_when(valid_until),
        hours=parse_hours(hours) if hours else None,
        allow_forwarding=allow_forwarding,
        created_by=_operator(),
    )
    if as_json:
        print_json({"id": made.id})
        return
    echo(f"grant {made.id}: {subject} → {obj}" + (f" as {account}" if account else ""))


@grant.command(name="list")
@json_option
@pass_app
def grant_list(app: AppContext, as_json: bool) -> None:
    """Every grant."""
    grants = _directory(app).grants()
    if as_json:
        print_json(
            [
                {
                    "id": g.id,
                    "subject": g.subject,
                    "object": g.object,
                    "account": g.account,
                    "from": g.valid_from,
                    "until": g.valid_until,
                    "hours": f"{g.hours[0]:%H:%M}-{g.hours[1]:%H:%M}" if g.hours else None,
                    "allow_forwarding": g.allow_forwarding,
                    "created_by": g.created_by,
                }
                for g in grants
            ]
        )
        return
    print_table(
        f"bastion grants ({len(grants)})",
        [
            Column("id", keep=True, justify="right"),
            Column("subject"),
            Column("object"),
            Column("account"),
            Column("from", keep=True),
            Column("until", keep=True),
            Column("hours", keep=True),
            Column("forwarding"),
        ],
        [
            [
                g.id,
                g.subject,
                g.object,
                g.account or "(any)",
                g.valid_from.isoformat(timespec="minutes") if g.valid_from else "",
                g.valid_until.isoformat(timespec="minutes") if g.valid_until else "",
                f"{g.hours[0]:%H:%M}-{g.hours[1]:%H:%M}" if g.hours else "",
                "yes" if g.allow_forwarding else "",
            ]
            for g in grants
        ],
    )


@grant.command(name="remove")
@click.argument("grant_id", type=int)
@pass_app
def grant_remove(app: AppContext, grant_id: int) -> None:
    """Remove a grant (takes effect at the next login)."""
    _directory(app).remove_grant(grant_id)


# -- serving and sessions --------------------------------------------------------------------------


@bastion.command()
@click.option("--listen", metavar="HOST:PORT", help="Address to listen on (default 0.0.0.0:2222).")
@pass_app
def serve(app: AppContext, listen: str | None) -> None:
    """Run the bastion (foreground; stop with SIGTERM or Ctrl-C)."""
    settings = _settings(app)
    host, port = settings.listen_host, settings.listen_port
    if listen:
        parsed = parse_listen(listen)
        if parsed is None:
            raise NetGuardError(f"--listen {listen!r} must be HOST:PORT")
        host, port = parsed
    store = open_event_store(app.config)
    writer = EventWriter(store, settings.event_spool)
    bast = build(settings, app.config.state_path, app.config.resolver(), writer, journal_key(app.config))
    server = Server(bast)
    bound = server.bind(host, port)
    ctl = control.ControlServer(settings.control_socket, bast.registry)
    ctl.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        server.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    echo(f"netguard bastion listening on {bound[0]}:{bound[1]}", err=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    while not stop.is_set():
        stop.wait(3600)
    ctl.stop()
    writer.close()
    store.close()
    if writer.failed:
        # Counted by the writer while serving (store down and spool full, or a malformed event).
        echo(f"netguard bastion: {plural(writer.failed, 'event')} could not be recorded (see the log)", err=True)


@bastion.command()
@json_option
@pass_app
def sessions(app: AppContext, as_json: bool) -> None:
    """Live sessions on the running server."""
    live = control.request(_settings(app).control_socket, {"op": "list"})["sessions"]
    if as_json:
        print_json(live)
        return
    print_table(
        f"live sessions ({len(live)})",
        [
            Column("session", keep=True),
            Column("user"),
            Column("account@target"),
            Column("from", keep=True),
            Column("kind"),
            Column("started", keep=True),
            Column("in", justify="right"),
            Column("out", justify="right"),
        ],
        [
            [
                s["id"][:12],
                s["user"],
                f"{s['account']}@{s['target']}",
                s["source_ip"],
                s["kind"],
                s["started"][:19],
                s["bytes_in"],
                s["bytes_out"],
            ]
            for s in live
        ],
    )


@bastion.command()
@click.argument("session")
@pass_app
def kill(app: AppContext, session: str) -> None:
    """End a live session now (recorded: who ended it, and when)."""
    answer = control.request(_settings(app).control_socket, {"op": "kill", "session": session})
    echo(f"session {answer['session'][:12]} ended by {answer['killed_by']}")


@bastion.command()
@click.argument("session")
@pass_app
def watch(app: AppContext, session: str) -> None:
    """Follow a live session, read-only.

    Shows the session as it happens; Ctrl-C stops watching, not the session.
    """
    out = sys.stdout
    for number, line in enumerate(control.watch(_settings(app).control_socket, session)):
        if number == 0:
            continue  # the asciicast header
        try:
            _, code, data = json.loads(line)
        except ValueError:
            continue
        if code == "o":
            out.write(data)
            out.flush()


@bastion.command()
@click.argument("session")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0.01, 1000), help="Playback speed.")
@click.option("--idle", "idle_limit", default=2.0, show_default=True, type=float, help="Longest pause, in seconds.")
@pass_app
def replay(app: AppContext, session: str, speed: float, idle_limit: float) -> None:
    """Replay a recorded session in this terminal."""
    from bastion.asciicast import paced

    record = SessionLog(connect(app.config.state_path), None).get(session)
    if record.recording is None:
        raise NetGuardError(f"session {session} has no recording")
    _, events = read_cast(Path(record.recording))
    out = sys.stdout
    for delay, event in paced(events, speed, idle_limit):
        if event.code != "o":
            continue
        if delay:
            time.sleep(delay)
        out.write(event.data)
        out.flush()


@bastion.command()
@click.argument("session")
@click.argument("output", type=click.Path(dir_okay=False, writable=True))
@pass_app
def export(app: AppContext, session: str, output: str) -> None:
    """Export a recording as an asciicast v2 file.

    Any asciinema player plays it.
    """
    record = SessionLog(connect(app.config.state_path), None).get(session)
    if record.recording is None:
        raise NetGuardError(f"session {session} has no recording")
    header, events = read_cast(Path(record.recording))

    with open(output, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(header.to_json(), ensure_ascii=False) + "\n")
        for event in events:
            fh.write(json.dumps([event.at, event.code, event.data], ensure_ascii=False) + "\n")
    echo(f"wrote {output}")


@bastion.command()
@json_option
@pass_app
def verify(app: AppContext, as_json: bool) -> None:
    """Check every finished recording against the chain.

    Exit 1, naming each session whose recording was edited, truncated or deleted.
    """
    report = SessionLog(connect(app.config.state_path), journal_key(app.config)).verify()
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "recordings": report.recordings,
                "chain_links": report.chain.links,
                "unverified": report.chain.unverified,
                "problems": [{"session": p.session_id, "problem": p.problem} for p in report.problems],
            }
        )
    else:
        for p in report.problems:
            echo(f"session {p.session_id}: {p.problem}")
        if report.chain.unverified:
            echo(f"{report.chain.unverified} chain links not verified (no state.journal_key, or another key)")
        echo(f"{report.recordings} recordings, {report.chain.links} chain links: {'ok' if report.ok else 'FAILED'}")
    if not report.ok:
        raise click.exceptions.Exit(EXIT_FINDINGS)
