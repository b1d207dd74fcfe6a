"""The bastion end to end: the real OpenSSH client → the bastion → a real sshd."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest

from bastion import totp
from bastion.asciicast import read
from tests.bastion.conftest import Lab


def test_exec_through_the_bastion_keeps_output_and_exit_status(lab: Lab) -> None:
    done = lab.ssh("alice:root@his-db01", "echo hello-$((6*7)); echo oops >&2; exit 3", key=lab.alice_key)
    assert done.returncode == 3, done.stderr
    assert done.stdout == b"hello-42\n"
    assert b"oops" in done.stderr
    commands = lab.events("kind:bastion-command AND user:alice")
    assert [c["process.command_line"] for c in commands] == ["echo hello-$((6*7)); echo oops >&2; exit 3"]
    assert commands[0]["netguard.bastion.verdict"] == "allowed"
    ends = lab.wait_events("kind:bastion-session AND action:end")
    assert len(ends) == 1
    recording = Path(str(ends[0]["netguard.bastion.recording"]))
    assert ends[0]["netguard.bastion.recording_sha256"] == hashlib.sha256(recording.read_bytes()).hexdigest()
    _, events = read(recording)
    assert "hello-42" in "".join(e.data for e in events if e.code == "o")
    logins = lab.events("kind:bastion-login AND outcome:success")
    assert logins and logins[0]["user.name"] == "alice" and logins[0]["source.ip"] == "127.0.0.1"


def test_user_at_target_with_one_account_goes_straight_there(lab: Lab) -> None:
    done = lab.ssh("alice@his-db01", "id -un", key=lab.alice_key)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"root\n"


def test_ungranted_target_and_account_are_refused(lab: Lab) -> None:
    refused = lab.ssh("alice:ngpass@his-db01", "id", key=lab.alice_key)
    assert refused.returncode == 1
    assert b"not granted" in refused.stderr
    unknown = lab.ssh("alice@nowhere", "id", key=lab.alice_key)
    assert unknown.returncode == 1
    denied = lab.events("kind:bastion-session AND action:denied")
    assert len(denied) == 2


def test_denied_exec_never_reaches_the_target(lab: Lab, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    done = lab.ssh("alice:root@his-db01", f"touch {marker} && rm -rf /", key=lab.alice_key)
    assert done.returncode == 126
    assert b"refused" in done.stderr
    assert not marker.exists()
    [event] = lab.events("kind:bastion-command AND netguard.bastion.verdict:denied")
    assert event["rule.id"] == "CMD-RM-ROOT"


def test_interactive_shell_lines_are_audited_and_denied_lines_not_run(lab: Lab, tmp_path: Path) -> None:
    marker = tmp_path / "history-cleared"
    script = [b"echo one-$((1+1))\r", f"history -c; touch {marker}\r".encode(), b"exit\r"]
    proc = subprocess.Popen(
        lab.ssh_args("alice:root@his-db01", "-tt", key=lab.alice_key),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    for line in script:
        time.sleep(0.6)
        proc.stdin.write(line)
        proc.stdin.flush()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        import traceback

        stacks = "".join(
            f"--- {tid}\n" + "".join(traceback.format_stack(frame)) for tid, frame in sys._current_frames().items()
        )
        print(stacks)
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"session did not end: {out!r} {err!r}") from None
    assert b"one-2" in out
    assert b"refused by the bastion" in out
    assert not marker.exists()
    lines = lab.events("kind:bastion-command AND action:line")
    verdicts = {str(e["process.command_line"]): e["netguard.bastion.verdict"] for e in lines}
    assert verdicts["echo one-$((1+1))"] == "allowed"
    assert verdicts[f"history -c; touch {marker}"] == "denied"
    [end] = lab.wait_events("kind:bastion-session AND action:end")
    _, events = read(Path(str(end["netguard.bastion.recording"])))
    recorded = list(events)
    typed = "".join(e.data for e in recorded if e.code == "i")
    assert "echo one-$((1+1))\r" in typed
    assert "one-2" in "".join(e.data for e in recorded if e.code == "o")


def _askpass(tmp_path: Path, password: str, secret: str) -> Path:
    script = tmp_path / "askpass.py"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(Path.cwd())!r})\n"
        "from bastion import totp\n"
        "prompt = sys.argv[1] if len(sys.argv) > 1 else ''\n"
        f"print(totp.code_at({secret!r}, __import__('time').time()) if 'code' in prompt.lower() else {password!r})\n"
    )
    script.chmod(0o700)
    return script


def _ssh_with_askpass(lab: Lab, askpass: Path, login: str, *command: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    args = lab.ssh_args(login, "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1")
    return subprocess.run(
        [*args, *command], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
    )


def test_password_plus_totp_login(lab: Lab, tmp_path: Path) -> None:
    askpass = _askpass(tmp_path, lab.bob_password, lab.bob_totp_secret)
    done = _ssh_with_askpass(lab, askpass, f"bob:{lab.sshd.password_user}@his-db01", "id -un")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == lab.sshd.password_user
    [login] = lab.events("kind:bastion-login AND user:bob AND outcome:success")
    assert login["netguard.auth.factors"] == ["password", "totp"]
    # The same code again (within its 30 s step) is a replay.
    again = _ssh_with_askpass(lab, askpass, f"bob:{lab.sshd.password_user}@his-db01", "id -un")
    if totp.code_at(lab.bob_totp_secret, time.time()) == totp.code_at(lab.bob_totp_secret, time.time() - 5):
        assert again.returncode != 0


def test_wrong_totp_code_is_refused(lab: Lab, tmp_path: Path) -> None:
    askpass = _askpass(tmp_path, lab.bob_password, "A" * 32)  # codes from another secret
    done = _ssh_with_askpass(lab, askpass, f"bob:{lab.sshd.password_user}@his-db01", "id")
    assert done.returncode == 255
    failures = lab.events("kind:bastion-login AND user:bob AND outcome:failure")
    assert any("TOTP" in str(f.get("netguard.auth.failure_reason")) for f in failures)


def test_lockout_after_five_wrong_passwords(lab: Lab, tmp_path: Path) -> None:
    wrong = _askpass(tmp_path, "not-the-password", lab.bob_totp_secret)
    for _ in range(5):
        assert _ssh_with_askpass(lab, wrong, "bob@his-db01", "id").returncode == 255
    right = _askpass(tmp_path / "..", lab.bob_password, lab.bob_totp_secret)
    assert _ssh_with_askpass(lab, right, f"bob:{lab.sshd.password_user}@his-db01", "id").returncode == 255
    failures = lab.events("kind:bastion-login AND user:bob AND outcome:failure")
    assert any("locked out" in str(f.get("netguard.auth.failure_reason")) for f in failures)
    code, out = lab.cli("bastion", "user", "unlock", "bob")
    assert code == 0, out
    code, out = lab.cli("bastion", "user", "unlock", "127.0.0.1")
    assert code == 0, out
    assert _ssh_with_askpass(lab, right, f"bob:{lab.sshd.password_user}@his-db01", "id -un").returncode == 0


def test_changed_target_host_key_is_refused_with_an_alert(lab: Lab) -> None:
    from bastion.directory import Directory
    from netguard.store.db import connect

    Directory(connect(lab.root / "state" / "state.db")).pin_host_key("pacs01", "ssh-ed25519", os.urandom(51))
    done = lab.ssh("alice:root@pacs01", "id", key=lab.alice_key)
    assert done.returncode == 1
    assert b"refused" in done.stderr
    [alert] = lab.events("kind:bastion-session AND tags:host-key-mismatch")
    assert alert["event.kind"] == "alert"


def test_scp_and_sftp_transfers_are_audited(lab: Lab, tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    local = tmp_path / "报告 2026.bin"
    local.write_bytes(payload)
    remote = tmp_path / "uploaded.bin"
    base = [
        "-P",
        str(lab.port),
        "-o",
        f"UserKnownHostsFile={lab.known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        str(lab.alice_key),
        "-F",
        "/dev/null",
        "-o",
        "User=alice:root@his-db01",
    ]
    up = subprocess.run(["scp", *base, str(local), f"127.0.0.1:{remote}"], capture_output=True, timeout=30, check=False)
    assert up.returncode == 0, up.stderr
    assert remote.read_bytes() == payload
    back = tmp_path / "back.bin"
    batch = tmp_path / "batch"
    batch.write_text(f"get {remote} {back}\n")
    sftp = subprocess.run(["sftp", *base, "-b", str(batch), "127.0.0.1"], capture_output=True, timeout=30, check=False)
    assert sftp.returncode == 0, sftp.stderr
    assert back.read_bytes() == payload
    digest = hashlib.sha256(payload).hexdigest()
    uploads = lab.events("kind:file-transfer AND action:upload")
    downloads = lab.events("kind:file-transfer AND action:download")
    assert [(u["file.path"], u["file.size"], u["file.hash.sha256"]) for u in uploads] == [
        (str(remote), 300_000, digest)
    ]
    assert [(d["file.path"], d["file.size"], d["file.hash.sha256"]) for d in downloads] == [
        (str(remote), 300_000, digest)
    ]


def test_port_forwarding_is_denied(lab: Lab) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local_port = s.getsockname()[1]
    proc = subprocess.Popen(
        lab.ssh_args(
            "alice:root@his-db01",
            "-N",
            "-o",
            "ExitOnForwardFailure=no",
            "-L",
            f"{local_port}:127.0.0.1:{lab.sshd.port}",
            key=lab.alice_key,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", local_port), timeout=2) as conn:
                    conn.settimeout(3)
                    assert conn.recv(100) == b""  # the forward is refused: closed at once, no SSH banner
                    break
            except ConnectionRefusedError:
                time.sleep(0.1)
        denied = lab.events("kind:bastion-session AND action:denied")
        assert any("forwarding refused" in str(e["message"]) for e in denied)
    finally:
        proc.terminate()
        proc.wait(10)


def test_garbage_and_stalled_clients_do_not_stop_the_server(lab: Lab) -> None:
    for payload in (os.urandom(4096), b"SSH-2.0-x\r\n" + os.urandom(2048), b"GET / HTTP/1.0\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", lab.port)) as conn:
            conn.sendall(payload)
            conn.settimeout(5)
            try:
                while conn.recv(4096):
                    pass
            except (TimeoutError, ConnectionResetError):
                pass
    stalled = [socket.create_connection(("127.0.0.1", lab.port)) for _ in range(30)]
    try:
        done = lab.ssh("alice:root@his-db01", "echo still-here", key=lab.alice_key)
        assert done.returncode == 0, done.stderr
        assert done.stdout == b"still-here\n"
    finally:
        for conn in stalled:
            conn.close()


def _control_lab(lab: Lab) -> object:
    from bastion.control import ControlServer

    ctl = ControlServer(lab.settings.control_socket, lab.bastion.registry)
    ctl.start()
    return ctl


def test_sessions_watch_and_kill_a_live_session(lab: Lab) -> None:
    from bastion.control import ControlServer, request, watch

    ctl = _control_lab(lab)
    assert isinstance(ctl, ControlServer)
    proc = subprocess.Popen(
        [*lab.ssh_args("alice:root@his-db01", key=lab.alice_key), "echo started; sleep 60; echo never"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        live: list[dict[str, object]] = []
        while time.monotonic() < deadline and not live:
            live = request(lab.settings.control_socket, {"op": "list"})["sessions"]
            time.sleep(0.1)
        assert len(live) == 1 and live[0]["user"] == "alice" and live[0]["target"] == "his-db01"
        session = str(live[0]["id"])
        seen = ""
        for line in watch(lab.settings.control_socket, session[:10]):
            seen += line
            if "started" in seen:
                break
        assert "started" in seen
        code, out = lab.cli("bastion", "sessions", "--json")
        assert code == 0 and session in out
        code, out = lab.cli("bastion", "kill", session[:10])
        assert code == 0, out
        proc.communicate(timeout=15)
        assert proc.returncode != 0
    finally:
        proc.kill()
        ctl.stop()
    [killed] = lab.wait_events("kind:bastion-session AND action:kill")
    assert killed["netguard.bastion.terminated_by"] == "root"
    code, out = lab.cli("bastion", "sessions")
    assert code == 2 and "not running" in out


def test_verify_names_an_edited_and_a_deleted_recording(lab: Lab) -> None:
    for n in range(3):
        assert lab.ssh("alice:root@his-db01", f"echo session-{n}", key=lab.alice_key).returncode == 0
    lab.flush()
    report = lab.bastion.sessions().verify()
    assert report.ok and report.recordings == 3 and report.chain.links == 3
    ends = sorted(lab.wait_events("kind:bastion-session AND action:end", 3), key=lambda e: str(e["@timestamp"]))
    edited = Path(str(ends[0]["netguard.bastion.recording"]))
    edited.write_text(edited.read_text().replace("session-0", "session-X"))
    deleted = Path(str(ends[2]["netguard.bastion.recording"]))
    deleted.unlink()
    report = lab.bastion.sessions().verify()
    assert not report.ok
    problems = {p.session_id: p.problem for p in report.problems}
    assert "changed" in problems[str(ends[0]["netguard.bastion.session_id"])]
    assert "deleted" in problems[str(ends[2]["netguard.bastion.session_id"])]
    assert str(ends[1]["netguard.bastion.session_id"]) not in problems
    code, out = lab.cli("bastion", "verify")
    assert code == 1
    assert str(ends[0]["netguard.bastion.session_id"]) in out and "FAILED" in out


def test_menu_lists_exactly_what_alice_may_use_and_connects(lab: Lab) -> None:
    proc = subprocess.Popen(
        lab.ssh_args("alice", "-tt", key=lab.alice_key),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    for keys in (b"9\r", b"2\r", b"echo via-menu-$((3+4))\r", b"exit\r"):
        time.sleep(0.7)
        proc.stdin.write(keys)
        proc.stdin.flush()
    out, _ = proc.communicate(timeout=30)
    text = out.decode("utf-8", "replace")
    assert "1  his-db01  root" in text and "2  pacs01    root" in text
    assert "ngpass" not in text  # bob's account, not alice's
    assert "not one of the choices" in text
    assert "via-menu-7" in text
    [start] = lab.events("kind:bastion-session AND action:start")
    assert start["destination.address"] == "pacs01"


def test_replay_and_export_give_what_was_shown(lab: Lab, tmp_path: Path) -> None:
    assert lab.ssh("alice:root@his-db01", "printf 'line-1\\nline-2 患者\\n'", key=lab.alice_key).returncode == 0
    [end] = lab.wait_events("kind:bastion-session AND action:end")
    session = str(end["netguard.bastion.session_id"])
    code, out = lab.cli("bastion", "replay", session[:8], "--speed", "100")
    assert code == 0 and "line-1\nline-2 患者\n" in out
    exported = tmp_path / "s.cast"
    code, _ = lab.cli("bastion", "export", session, str(exported))
    assert code == 0
    header, events = read(exported)
    assert header.width == 80
    assert "".join(e.data for e in events if e.code == "o") == "line-1\nline-2 患者\n"
    code, out = lab.cli("bastion", "verify")
    assert code == 0, out
    assert "1 recordings, 1 chain links: ok" in out


def test_grant_changes_apply_to_new_sessions_without_a_restart(lab: Lab) -> None:
    assert lab.ssh("alice:root@pacs01", "true", key=lab.alice_key).returncode == 0
    code, out = lab.cli("bastion", "grant", "list", "--json")
    assert code == 0, out

    grant = next(g for g in json.loads(out) if g["subject"] == "alice" and g["object"] == "pacs01")
    live = subprocess.Popen(
        [*lab.ssh_args("alice:root@pacs01", key=lab.alice_key), "sleep 2; echo still-running"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(1)
    assert lab.cli("bastion", "grant", "remove", str(grant["id"]))[0] == 0
    refused = lab.ssh("alice:root@pacs01", "true", key=lab.alice_key)
    assert refused.returncode == 1 and b"not granted" in refused.stderr
    out_live, _ = live.communicate(timeout=20)
    assert live.returncode == 0 and out_live == b"still-running\n"


def test_target_import_from_the_example_county(lab: Lab) -> None:
    example = Path(__file__).parents[2] / "examples" / "huize-county.yaml"
    code, out = lab.cli("bastion", "target", "import", "--inventory", str(example), "--json")
    assert code == 0, out
    added = json.loads(out)["added"]
    from netguard.inventory import load_inventory

    expected = {s.id for s in load_inventory(example).servers() if any(v.name == "ssh" for v in s.services)}
    existing = {"his-db01", "pacs01"} & expected  # the fixture's targets carry the same names
    assert {a["target"] for a in added} == expected - existing and expected
    assert json.loads(out)["already_there"] == len(existing)
    code, out = lab.cli("bastion", "target", "import", "--inventory", str(example), "--json")
    assert json.loads(out) == {"added": [], "already_there": len(expected)}


def test_port_forwarding_through_the_target_when_a_grant_allows_it(lab: Lab) -> None:
    code, out = lab.cli("bastion", "grant", "add", "alice", "pacs01", "--account", "root", "--allow-forwarding")
    assert code == 0, out
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local_port = s.getsockname()[1]
    proc = subprocess.Popen(
        lab.ssh_args(
            "alice:root@pacs01", "-N", "-o", "ExitOnForwardFailure=yes", "-L",
            f"{local_port}:127.0.0.1:{lab.sshd.port}", key=lab.alice_key,
        ),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        banner = b""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not banner:
            try:
                with socket.create_connection(("127.0.0.1", local_port), timeout=3) as conn:
                    conn.settimeout(5)
                    banner = conn.recv(100)
            except (ConnectionRefusedError, TimeoutError):
                time.sleep(0.2)
        assert banner.startswith(b"SSH-2.0-OpenSSH"), banner  # the target's sshd, reached through the tunnel
        [start] = lab.wait_events("kind:bastion-session AND action:start AND tags:port-forwarding")
        assert start["destination.address"] == "pacs01" and start["netguard.bastion.channel"] == "direct-tcpip"
        assert lab.wait_events("kind:bastion-session AND action:end AND tags:port-forwarding")
    finally:
        proc.terminate()
        proc.wait(10)


def test_unknown_channel_types_and_absurd_windows_cost_only_that_client(lab: Lab) -> None:
    import paramiko

    key = paramiko.Ed25519Key(filename=str(lab.alice_key))
    odd = paramiko.Transport(("127.0.0.1", lab.port), default_window_size=2**32 - 1, default_max_packet_size=2**31)
    try:
        odd.connect(username="alice:root@his-db01", pkey=key)
        try:
            odd.open_channel("netguard-no-such-type")
            raise AssertionError("an unknown channel type was accepted")
        except paramiko.ChannelException as exc:
            assert exc.code == 3  # SSH_OPEN_UNKNOWN_CHANNEL_TYPE
        chan = odd.open_session(window_size=2**32 - 1, max_packet_size=2**31)
        chan.exec_command("echo huge-window")
        assert chan.makefile().read() == b"huge-window\n"
    finally:
        odd.close()
    done = lab.ssh("alice:root@his-db01", "echo next-client", key=lab.alice_key)
    assert done.returncode == 0 and done.stdout == b"next-client\n"


def test_lists_show_each_row_and_never_a_secret(lab: Lab) -> None:
    code, out = lab.cli("bastion", "target", "list")
    assert code == 0, out
    his = next(line for line in out.splitlines() if line.startswith("his-db01"))
    assert lab.sshd.host in his and "SHA256:" in his
    code, out = lab.cli("bastion", "user", "list")
    assert code == 0, out
    bob = next(line for line in out.splitlines() if line.startswith("bob"))
    assert bob.split()[1:] == ["0", "yes", "yes"]
    code, out = lab.cli("bastion", "account", "list")
    assert code == 0, out
    assert lab.sshd.password_user in out and lab.sshd.password not in out
    code, out = lab.cli("bastion", "vault", "list")
    assert code == 0, out
    assert "his-db01" in out and lab.sshd.password not in out and lab.bob_totp_secret not in out


def test_clients_get_aes_gcm_by_default_never_cbc(lab: Lab) -> None:
    # OpenSSH prefers aes128-ctr over AES-GCM; with GCM the only offer, a default client lands on it.
    plain = lab.ssh("alice:root@his-db01", "echo plain", key=lab.alice_key, extra=("-v",))
    assert plain.returncode == 0 and plain.stdout == b"plain\n", plain.stderr
    assert b"server->client cipher: aes128-gcm@openssh.com" in plain.stderr
    assert b"client->server cipher: aes128-gcm@openssh.com" in plain.stderr
    gcm = lab.ssh("alice:root@his-db01", "echo gcm", key=lab.alice_key, extra=("-c", "aes256-gcm@openssh.com"))
    assert gcm.returncode == 0 and gcm.stdout == b"gcm\n", gcm.stderr
    ctr = lab.ssh("alice:root@his-db01", "echo ctr", key=lab.alice_key, extra=("-c", "aes128-ctr"))
    assert ctr.returncode == 255 and ctr.stdout == b"", "CTR is offered only when bastion.client_ciphers names it"
    cbc = lab.ssh("alice:root@his-db01", "echo cbc", key=lab.alice_key, extra=("-c", "aes128-cbc"))
    assert cbc.returncode == 255 and cbc.stdout == b""
    # The reason, seen from a client that offers only CBC: key exchange finds no common cipher.
    sock = socket.create_connection(("127.0.0.1", lab.port), timeout=10)
    transport = paramiko.Transport(sock)
    transport.get_security_options().ciphers = ("aes128-cbc", "3des-cbc")
    try:
        with pytest.raises(paramiko.SSHException, match=r"(?i)incompatible|cipher"):
            transport.start_client(timeout=10)
    finally:
        transport.close()
