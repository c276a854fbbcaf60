import type Database from 'better-sqlite3'

/** The schema version this code writes; older databases are migrated on open. */
export const STORE_SCHEMA_VERSION = 3

// Index choices, measured (README, benchmark): every index costs each append and bytes per event. Kept: a stream's
// versions (reads, expected versions) and given ids (idempotency, reads by id); correlation ids only for events
// that have metadata. An id the store makes carries the event's position and is stored as 17 bytes (uuid.ts,
// positionalIdBytes): it is found through its position, so events_id holds only the 16-byte ids appends bring.
// Not kept: event type (type filters of $all scan in position order; per-type counts live on the stream row, see
// streams.types) and last update of a stream (the stream list sorts in memory).
//
// Versions: 1 had the events_type and streams_updated indexes and no streams.types; 2 counts types per stream;
// 3 (this) lets a stream row trail its newest events (streams_settled) and indexes 16-byte ids only. An older
// database is migrated on open, in one transaction (migrateToV2, migrateToV3, then the DDL below, which settles every
// row at the head of the log).
//
// Stream rows settle in bulk. An append writes the stream's row only when it creates the stream or revives a
// soft-deleted one; otherwise the row's version, event_count, last_position, updated_at and types may trail the log,
// for events after streams_settled.position only. About every SETTLE_EVERY events (sqlite-store.ts) an append
// settles all rows at once, and readers add what a row trails themselves: a stream's version is the largest in
// events_stream_version, and the events after the settled position are few enough to read (type filters, type
// counts). What the row always has current: that the stream exists, its category, state, metadata, created_at and
// first_position.
//
// Why (measured, single-event appends to 500 streams, SQL alone against the raw floor's, CPU time): the row's page and
// the id index's page are each a WAL frame more per commit, about 6 µs of the floor's 27-30 µs. Row and index each
// time: 0.63-0.69x the floor; rows settled in bulk: 0.75-0.82x; also ids the store makes kept out of the index:
// 0.88-0.94x.

/**
 * The event store's tables. A position is the rowid: one more than the highest stored, so a rolled-back append
 * leaves no gap, and scavenge never removes the newest row, so no position is ever handed out twice
 * (AUTOINCREMENT would do the same at the price of a second table write per event). Ids are blobs: a given UUID in
 * 16 bytes, one the store made in 17 (the UUID, then 0).
 */
const ddl = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY,
  stream_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  type TEXT NOT NULL,
  schema_version INTEGER NOT NULL DEFAULT 1,
  id BLOB NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT,
  recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_version ON events(stream_id, version);
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events(id) WHERE length(id) = 16;
CREATE INDEX IF NOT EXISTS events_correlation ON events(json_extract(metadata, '$.correlationId')) WHERE metadata IS NOT NULL;

CREATE TABLE IF NOT EXISTS streams (
  stream_id TEXT PRIMARY KEY,
  category TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 0,
  event_count INTEGER NOT NULL DEFAULT 0,
  first_position INTEGER,
  last_position INTEGER,
  created_at INTEGER,
  updated_at INTEGER,
  -- 0 live, 1 soft-deleted, 2 tombstoned
  state INTEGER NOT NULL DEFAULT 0,
  -- the lowest visible version set by a soft delete
  deleted_before INTEGER NOT NULL DEFAULT 0,
  metadata TEXT NOT NULL DEFAULT '{}',
  -- 1 when metadata or a delete hides any event of the stream
  restricted INTEGER NOT NULL DEFAULT 0,
  -- {type: count} of the events stored in the stream up to version (a trailing row settles later; no commas here: DROP COLUMN cuts at the last comma before a column)
  types TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS streams_category ON streams(category);
CREATE INDEX IF NOT EXISTS streams_restricted ON streams(restricted) WHERE restricted = 1;

CREATE TABLE IF NOT EXISTS store_maintenance (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  allow_delete INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO store_maintenance (id, allow_delete) VALUES (1, 0);

-- Every stream row counts every event at or before this position (see the note on settling above); trailing is 1
-- once an append after it has left a row trailing, 0 when none has (readers and settles then skip the events after it).
CREATE TABLE IF NOT EXISTS streams_settled (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  position INTEGER NOT NULL,
  trailing INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO streams_settled (id, position) VALUES (1, (SELECT coalesce(max(position), 0) FROM events));

CREATE TABLE IF NOT EXISTS maintenance_log (
  at INTEGER NOT NULL,
  operation TEXT NOT NULL,
  details TEXT NOT NULL
);

CREATE TRIGGER IF NOT EXISTS events_immutable_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'stored events are immutable: UPDATE refused');
END;
CREATE TRIGGER IF NOT EXISTS events_immutable_delete BEFORE DELETE ON events
WHEN (SELECT allow_delete FROM store_maintenance WHERE id = 1) IS NOT 1
BEGIN
  SELECT RAISE(ABORT, 'stored events are immutable: DELETE refused outside logged maintenance');
END;
`

/**
 * Every stream's {type: count} from its stored events, in one pass over the log (streams without events keep '{}').
 * Also used by tests to check the counters the store maintains.
 */
export const TYPE_COUNTS_BY_STREAM = `
WITH counts AS (SELECT stream_id, type, count(*) AS n FROM events GROUP BY stream_id, type)
SELECT stream_id, json_group_object(type, n) AS types FROM counts GROUP BY stream_id`

/** Version 1 → 2: streams.types, backfilled from the log; the type and last-update indexes go. */
function migrateToV2(db: Database.Database): void {
  const columns = db.pragma('table_info(streams)') as Array<{ name: string }>
  if (!columns.some((c) => c.name === 'types')) {
    db.exec("ALTER TABLE streams ADD COLUMN types TEXT NOT NULL DEFAULT '{}'")
    db.exec(`UPDATE streams SET types = t.types FROM (${TYPE_COUNTS_BY_STREAM}) AS t WHERE t.stream_id = streams.stream_id`)
  }
  db.exec('DROP INDEX IF EXISTS events_type; DROP INDEX IF EXISTS streams_updated;')
}

/**
 * Version 2 → 3: the id index becomes partial (16-byte ids). It is rebuilt: 0.8 s for a million events, measured.
 * Every id of a version-2 log has 16 bytes, so every one stays indexed; streams_settled is made by the DDL.
 */
function migrateToV3(db: Database.Database): void {
  const index = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = 'events_id'").get()
  if (index && !/WHERE/i.test(index.sql)) db.exec('DROP INDEX events_id')
}

export function applySchema(db: Database.Database): void {
  const version = () => db.pragma('user_version', { simple: true }) as number
  const check = (current: number) => {
    if (current > STORE_SCHEMA_VERSION) {
      throw new Error(`This event store was written by a newer Event Workbench (schema ${current}); this one knows schema ${STORE_SCHEMA_VERSION}`)
    }
  }
  check(version())
  if (version() === STORE_SCHEMA_VERSION) {
    db.exec(ddl)
    return
  }
  // Create or migrate in one IMMEDIATE transaction; the version is read again inside it, since another process
  // may have migrated the file meanwhile.
  db.transaction(() => {
    const current = version()
    check(current)
    if (current === STORE_SCHEMA_VERSION) return
    const hasStreams = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'streams'").get() !== undefined
    if (hasStreams) {
      migrateToV2(db)
      migrateToV3(db)
    }
    db.exec(ddl)
    db.pragma(`user_version = ${STORE_SCHEMA_VERSION}`)
  }).immediate()
}
