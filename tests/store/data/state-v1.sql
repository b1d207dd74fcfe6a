-- A state database written by NetGuard's schema version 1 journal (unkeyed SHA-256 chain),
-- dumped with sqlite3's iterdump; tests/store/test_journal.py migrates it to the keyed journal.
PRAGMA user_version = 1;
BEGIN TRANSACTION;
CREATE TABLE check_results (
    scan_id     TEXT    NOT NULL REFERENCES check_scans(scan_id) ON DELETE CASCADE,
    check_id    TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    result      TEXT    NOT NULL CHECK (result IN ('pass', 'fail', 'na', 'error')),
    evidence    TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    PRIMARY KEY (scan_id, check_id, target)
);
CREATE TABLE check_scans (
    scan_id     TEXT    PRIMARY KEY,
    started     TEXT    NOT NULL,
    stored      TEXT    NOT NULL,
    label       TEXT
);
CREATE TABLE collection_runs (
    scope       TEXT    PRIMARY KEY,
    last_run    TEXT    NOT NULL,
    last_complete_run TEXT,
    runs        INTEGER NOT NULL DEFAULT 0,
    complete_runs INTEGER NOT NULL DEFAULT 0
);
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
INSERT INTO "isolation_state" VALUES('00:1a:2b:3c:4d:5e','sw-nagu-1','Gi0/7','disabled',NULL,NULL,1,'2025-02-01T09:00:02.000000+00:00');
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
INSERT INTO "journal" VALUES(1,'2025-02-01T09:00:00.000000+00:00','admin.li','port-shutdown','00:1a:2b:3c:4d:5e','10.23.4.17','sw-nagu-1','Gi0/7','{"ifAdminStatus":1}','{"ifAdminStatus":2}','unknown device',NULL,'undone','undone by journal entry 2','2025-02-01T10:00:02.000000+00:00','0000000000000000000000000000000000000000000000000000000000000000','d7a8c981fce883d2840d1ee95309341dabef90c4ded6dc3c3e4ce7adcfc6f416');
INSERT INTO "journal" VALUES(2,'2025-02-01T10:00:00.000000+00:00','admin.li','port-enable','00:1a:2b:3c:4d:5e','10.23.4.17','sw-nagu-1','Gi0/7','{"ifAdminStatus":2}','{"ifAdminStatus":1}','authorised (ticket 4411)',1,'applied','read back: 1','2025-02-01T10:00:02.000000+00:00','d7a8c981fce883d2840d1ee95309341dabef90c4ded6dc3c3e4ce7adcfc6f416','80061bdc5c873e8209fc99e89b2286ff63d49485b40d76e19d97f2321bff177a');
INSERT INTO "journal" VALUES(3,'2025-02-01T11:00:00.000000+00:00','cron','quarantine-vlan','00:1a:2b:3c:4d:99',NULL,NULL,NULL,'{"vlan":10}','{"vlan":999}','rogue device',NULL,'failed','SNMP SET timed out','2025-02-01T11:00:05.000000+00:00','80061bdc5c873e8209fc99e89b2286ff63d49485b40d76e19d97f2321bff177a','7aacd07e27e94af9099927ca640be9bf7edb8bc51ba98d97287b26d8f41db602');
INSERT INTO "journal" VALUES(4,'2025-02-01T12:00:00.000000+00:00','cron','arp-isolate',NULL,'10.23.4.99',NULL,NULL,'{}','{"poisoned":true}','rogue device',NULL,'intent',NULL,NULL,'7aacd07e27e94af9099927ca640be9bf7edb8bc51ba98d97287b26d8f41db602','f07d6be78646afd69e16c678d9090b53a5b3c3ad3665774cc7be038cc0f4098e');
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
INSERT INTO "journal_outcomes" VALUES(1,1,'applied','read back: 2','2025-02-01T09:00:02.000000+00:00',NULL,'0000000000000000000000000000000000000000000000000000000000000000','5a6e5c33457fcd276d16decd43bd069b709c779fb0093d27e0c3b7ae23b8feb7');
INSERT INTO "journal_outcomes" VALUES(2,2,'applied','read back: 1','2025-02-01T10:00:02.000000+00:00',NULL,'5a6e5c33457fcd276d16decd43bd069b709c779fb0093d27e0c3b7ae23b8feb7','315cb4529565937af088bd96e2757313ed08c83d082f33e1c908308fe51aff24');
INSERT INTO "journal_outcomes" VALUES(3,1,'undone','undone by journal entry 2','2025-02-01T10:00:02.000000+00:00',2,'315cb4529565937af088bd96e2757313ed08c83d082f33e1c908308fe51aff24','bb078c8a63261fcf3b07f033929a0f8105f407adf6914b520c912736943770a7');
INSERT INTO "journal_outcomes" VALUES(4,3,'failed','SNMP SET timed out','2025-02-01T11:00:05.000000+00:00',NULL,'bb078c8a63261fcf3b07f033929a0f8105f407adf6914b520c912736943770a7','55577b249285d9a37c173e4c28f3285e86b6c976c691c22d3cc46d2b027f6084');
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
CREATE INDEX journal_status ON journal (status);
CREATE INDEX journal_mac ON journal (target_mac);
CREATE INDEX journal_undoes ON journal (undoes);
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
CREATE INDEX isolation_state_status ON isolation_state (status);
CREATE INDEX check_results_check ON check_results (check_id, target);
COMMIT;
