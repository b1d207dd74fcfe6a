"""The state database schema, as an ordered list of migrations.

Each migration is ``(version, SQL)``; :func:`netguard.store.db.migrate` applies
the ones above the database's ``PRAGMA user_version`` in one transaction and
sets ``user_version`` to the last one. Never edit a migration that has shipped:
append a new one. Versions are consecutive integers starting at 1.

The journal tables are append-only at the SQL level: triggers refuse deletes
and changes to the hashed columns, so a bug cannot rewrite history. Someone
with the file can still drop the triggers; the keyed hash chain
(:mod:`netguard.store.journal`) is what detects a rewrite, and its verification
also compares the journal's triggers with :func:`journal_triggers` (the ones
these migrations create), reporting any missing, altered or added.

Version 2 keys the journal: every entry and outcome row gets the ``key_id`` of
the key its HMAC was made with (rows from version 1 keep ``NULL``: they are the
unkeyed part before the cut-over), ``key_id`` joins the columns that cannot be
updated, and new rows without a key are refused.

Version 3 adds the readers' checkpoints (:mod:`netguard.store.checkpoints`); version 4 the SSH bastion's
directory, lockouts, sessions and recording chain (:mod:`bastion.directory`, :mod:`bastion.sessions`).
"""

from __future__ import annotations

import re

_V1 = """
CREATE TABLE sightings (
    id              INTEGER PRIMARY KEY,
    scope           TEXT    NOT NULL,
    how             TEXT    NOT NULL CHECK (how IN ('arp', 'fdb', 'arp-table', 'lldp')),
    mac             TEXT    NOT NULL,
    ip              TEXT,
    institution_id  TEXT,
    switch          TEXT,
    port            TEXT,
    vlan            INTEGER,
    first_seen      TEXT    NOT NULL,
    last_seen       TEXT    NOT NULL,
    missed_runs     INTEGER NOT NULL DEFAULT 0,
    ended           TEXT,
    end_reason      TEXT    CHECK (end_reason IN ('gone', 'moved')),
    moved_from      INTEGER REFERENCES sightings(id),
    CHECK ((ended IS NULL) = (end_reason IS NULL))
);
CREATE UNIQUE INDEX sightings_open_key ON sightings (
    scope, how, mac, ifnull(ip, ''), ifnull(switch, ''), ifnull(port, ''), ifnull(vlan, -1)
) WHERE ended IS NULL;
CREATE INDEX sightings_scope_open ON sightings (scope) WHERE ended IS NULL;
CREATE INDEX sightings_mac ON sightings (mac);
CREATE INDEX sightings_ip ON sightings (ip);

CREATE TABLE collection_runs (
    scope       TEXT    PRIMARY KEY,
    last_run    TEXT    NOT NULL,
    last_complete_run TEXT,
    runs        INTEGER NOT NULL DEFAULT 0,
    complete_runs INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE journal (
    id              INTEGER PRIMARY KEY,
    created         TEXT    NOT NULL,
    operator        TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    target_mac      TEXT,
    target_ip       TEXT,
    target_switch   TEXT,
    target_port     TEXT,
    state_before    TEXT    NOT NULL,
    state_after     TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    undoes          INTEGER REFERENCES journal(id),
    status          TEXT    NOT NULL DEFAULT 'intent'
                            CHECK (status IN ('intent', 'applied', 'failed', 'undone')),
    outcome         TEXT,
    finished        TEXT,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL UNIQUE
);
CREATE INDEX journal_status ON journal (status);
CREATE INDEX journal_mac ON journal (target_mac);
CREATE INDEX journal_undoes ON journal (undoes);

CREATE TABLE journal_outcomes (
    seq         INTEGER PRIMARY KEY,
    entry_id    INTEGER NOT NULL REFERENCES journal(id),
    status      TEXT    NOT NULL CHECK (status IN ('applied', 'failed', 'undone')),
    detail      TEXT,
    at          TEXT    NOT NULL,
    undone_by   INTEGER REFERENCES journal(id),
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL UNIQUE
);
CREATE INDEX journal_outcomes_entry ON journal_outcomes (entry_id);

CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the action journal is append-only');
END;
CREATE TRIGGER journal_immutable BEFORE UPDATE OF
    id, created, operator, action, target_mac, target_ip, target_switch, target_port,
    state_before, state_after, reason, undoes, prev_hash, hash ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal entries cannot be changed, only given an outcome');
END;
CREATE TRIGGER journal_outcomes_no_delete BEFORE DELETE ON journal_outcomes
BEGIN
    SELECT RAISE(ABORT, 'the action journal is append-only');
END;
CREATE TRIGGER journal_outcomes_no_update BEFORE UPDATE ON journal_outcomes
BEGIN
    SELECT RAISE(ABORT, 'the action journal is append-only');
END;

CREATE TABLE isolation_state (
    mac             TEXT    NOT NULL,
    switch          TEXT    NOT NULL,
    port            TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('enabled', 'disabled', 'quarantined', 'isolated')),
    original_vlan   INTEGER,
    current_vlan    INTEGER,
    journal_id      INTEGER REFERENCES journal(id),
    updated         TEXT    NOT NULL,
    PRIMARY KEY (mac, switch, port)
);
CREATE INDEX isolation_state_status ON isolation_state (status);

CREATE TABLE check_scans (
    scan_id     TEXT    PRIMARY KEY,
    started     TEXT    NOT NULL,
    stored      TEXT    NOT NULL,
    label       TEXT
);
CREATE TABLE check_results (
    scan_id     TEXT    NOT NULL REFERENCES check_scans(scan_id) ON DELETE CASCADE,
    check_id    TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    result      TEXT    NOT NULL CHECK (result IN ('pass', 'fail', 'na', 'error')),
    evidence    TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    PRIMARY KEY (scan_id, check_id, target)
);
CREATE INDEX check_results_check ON check_results (check_id, target);
"""

_V2 = """
ALTER TABLE journal ADD COLUMN key_id TEXT;
ALTER TABLE journal_outcomes ADD COLUMN key_id TEXT;

DROP TRIGGER journal_immutable;
CREATE TRIGGER journal_immutable BEFORE UPDATE OF
    id, created, operator, action, target_mac, target_ip, target_switch, target_port,
    state_before, state_after, reason, undoes, prev_hash, hash, key_id ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal entries cannot be changed, only given an outcome');
END;
CREATE TRIGGER journal_keyed_only BEFORE INSERT ON journal WHEN NEW.key_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'journal entries must be keyed (state.journal_key)');
END;
CREATE TRIGGER journal_outcomes_keyed_only BEFORE INSERT ON journal_outcomes WHEN NEW.key_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'journal outcomes must be keyed (state.journal_key)');
END;
"""

_V3 = """
CREATE TABLE checkpoints (
    source          TEXT    NOT NULL,
    file_key        TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    device          INTEGER NOT NULL,
    inode           INTEGER NOT NULL,
    fingerprint     TEXT    NOT NULL,
    fingerprint_len INTEGER NOT NULL CHECK (fingerprint_len >= 0),
    byte_offset     INTEGER NOT NULL CHECK (byte_offset >= 0),
    state           TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    retired_reason  TEXT,
    first_seen      TEXT    NOT NULL,
    updated         TEXT    NOT NULL,
    PRIMARY KEY (source, file_key),
    CHECK ((state = 'retired') = (retired_reason IS NOT NULL))
);
CREATE INDEX checkpoints_file ON checkpoints (source, device, inode) WHERE state = 'active';
CREATE INDEX checkpoints_path ON checkpoints (source, path) WHERE state = 'active';
"""

# Version 4: the SSH bastion's directory (users, keys, groups, targets, accounts, grants),
# lockouts, sessions and the recording chain. Credentials themselves live in the bastion's
# vault, never here: these tables hold who may do what, and what happened.
_V4 = """
CREATE TABLE bastion_users (
    name            TEXT    PRIMARY KEY,
    password_hash   TEXT,
    totp            INTEGER NOT NULL DEFAULT 0,
    totp_last_step  INTEGER,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created         TEXT    NOT NULL
);
CREATE TABLE bastion_user_keys (
    user            TEXT    NOT NULL REFERENCES bastion_users(name) ON DELETE CASCADE,
    fingerprint     TEXT    NOT NULL,
    key_type        TEXT    NOT NULL,
    key_data        TEXT    NOT NULL,
    comment         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (user, fingerprint)
);
CREATE TABLE bastion_user_groups (
    user            TEXT    NOT NULL REFERENCES bastion_users(name) ON DELETE CASCADE,
    grp             TEXT    NOT NULL,
    PRIMARY KEY (user, grp)
);
CREATE TABLE bastion_targets (
    name            TEXT    PRIMARY KEY,
    address         TEXT    NOT NULL,
    port            INTEGER NOT NULL,
    host_key_type   TEXT,
    host_key_data   TEXT,
    host_key_fp     TEXT,
    created         TEXT    NOT NULL
);
CREATE TABLE bastion_target_groups (
    target          TEXT    NOT NULL REFERENCES bastion_targets(name) ON DELETE CASCADE,
    grp             TEXT    NOT NULL,
    PRIMARY KEY (target, grp)
);
CREATE TABLE bastion_accounts (
    target          TEXT    NOT NULL REFERENCES bastion_targets(name) ON DELETE CASCADE,
    account         TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('password', 'private-key')),
    created         TEXT    NOT NULL,
    PRIMARY KEY (target, account)
);
CREATE TABLE bastion_grants (
    id              INTEGER PRIMARY KEY,
    subject         TEXT    NOT NULL,
    object          TEXT    NOT NULL,
    account         TEXT,
    valid_from      TEXT,
    valid_until     TEXT,
    hours           TEXT,
    allow_forwarding INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT    NOT NULL,
    created         TEXT    NOT NULL
);
CREATE TABLE bastion_lockouts (
    kind            TEXT    NOT NULL CHECK (kind IN ('user', 'source')),
    key             TEXT    NOT NULL,
    failures        INTEGER NOT NULL,
    window_start    TEXT    NOT NULL,
    locked_until    TEXT,
    lock_count      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)
);
CREATE TABLE bastion_sessions (
    id              TEXT    PRIMARY KEY,
    user            TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    account         TEXT    NOT NULL,
    source_ip       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    command         TEXT,
    started         TEXT    NOT NULL,
    ended           TEXT,
    exit_status     INTEGER,
    bytes_in        INTEGER NOT NULL DEFAULT 0,
    bytes_out       INTEGER NOT NULL DEFAULT 0,
    recording       TEXT,
    recording_sha256 TEXT,
    killed_by       TEXT
);
CREATE INDEX bastion_sessions_started ON bastion_sessions (started);
CREATE TABLE bastion_recording_chain (
    seq             INTEGER PRIMARY KEY,
    session_id      TEXT    NOT NULL UNIQUE,
    recording_sha256 TEXT   NOT NULL,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL,
    key_id          TEXT
);
CREATE TRIGGER bastion_recording_chain_no_update BEFORE UPDATE ON bastion_recording_chain
BEGIN SELECT RAISE(ABORT, 'the recording chain is append-only'); END;
CREATE TRIGGER bastion_recording_chain_no_delete BEFORE DELETE ON bastion_recording_chain
BEGIN SELECT RAISE(ABORT, 'the recording chain is append-only'); END;
"""

MIGRATIONS: list[tuple[int, str]] = [
    (1, _V1),
    (2, _V2),
    (3, _V3),
    (4, _V4),
]

LATEST_VERSION = MIGRATIONS[-1][0]

JOURNAL_TABLES = ("journal", "journal_outcomes")
_CREATE_TRIGGER = re.compile(r"CREATE TRIGGER (\w+)\b.*?\bEND;", re.DOTALL)
_DROP_TRIGGER = re.compile(r"DROP TRIGGER (\w+);")
_ON_TABLE = re.compile(r"\bON (\w+)\b")


def normalize_sql(text: str) -> str:
    """SQL text with runs of blanks made one space and no trailing ';', for comparing definitions."""
    return " ".join(text.split()).rstrip(";").rstrip()


def journal_triggers(version: int = LATEST_VERSION) -> dict[str, str]:
    """The triggers on the journal tables that the migrations up to ``version`` leave, name -> normalised SQL.

    Read from the migration scripts themselves, so the expectation cannot drift
    from what was created. Trigger bodies here hold one ``END``; a trigger with
    a nested ``CASE ... END`` would need a real parser.
    """
    triggers: dict[str, str] = {}
    for number, script in MIGRATIONS:
        if number > version:
            break
        events = [(m.start(), "drop", m.group(1), "") for m in _DROP_TRIGGER.finditer(script)]
        events += [(m.start(), "create", m.group(1), m.group(0)) for m in _CREATE_TRIGGER.finditer(script)]
        for _, what, name, sql in sorted(events):
            if what == "drop":
                triggers.pop(name, None)
                continue
            table = _ON_TABLE.search(sql)
            if table is not None and table.group(1) in JOURNAL_TABLES:
                triggers[name] = normalize_sql(sql)
    return triggers
