/**
 * The PostgreSQL event store's tables and functions, all inside one schema (default `esw`), so several stores can
 * share a database. Written for PostgreSQL 13 or newer.
 *
 * Global positions, without gaps and in commit order: every write takes one transaction-scoped advisory lock
 * (ADVISORY_LOCK, per schema) before it reads or writes anything, and an append takes its positions from the
 * one-row `store_head` counter under that lock. So:
 * - positions are handed out one writer at a time, each append's as one consecutive run after the last;
 * - a rolled-back append rolls the counter back with it, so the next writer gets the same positions: no gap;
 * - PostgreSQL releases a transaction's locks only after its commit is visible to new snapshots, so the next
 *   writer can only take the next positions once every lower position is committed and visible. Positions are in
 *   commit order, and a reader that sees position p sees every position below it. A subscriber that reads "after
 *   the last position delivered" therefore never skips an event committed late by a slower writer, which is the
 *   gap problem of positions taken from a sequence (a sequence hands out numbers at insert time, not commit time).
 * The price is one writer at a time per store, as SQLite has; an append is one round trip (esw_append).
 */
export const PG_SCHEMA_VERSION = 1

/** The two keys of pg_advisory_xact_lock(int, int): a constant class and the schema name's hash. */
export const LOCK_CLASS = 0x45535701

/** Event kinds raised by esw_append (SQLSTATE, class EW is not used by PostgreSQL). */
export const SQLSTATE = {
  wrongExpectedVersion: 'EW001',
  streamDeleted: 'EW002',
  duplicateEventId: 'EW003'
} as const

export function isSchemaName(name: string): boolean {
  return /^[a-z_][a-z0-9_]{0,62}$/.test(name)
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

export function notifyChannel(schema: string): string {
  return `esw_appended_${schema}`
}

export function schemaDdl(schema: string): string {
  const lock = `pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${literal(schema)}))`
  const channel = literal(notifyChannel(schema))
  return `
CREATE TABLE IF NOT EXISTS store_info (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE IF NOT EXISTS store_head (
  id int PRIMARY KEY CHECK (id = 1),
  position bigint NOT NULL
);
INSERT INTO store_head (id, position) VALUES (1, 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS events (
  position bigint PRIMARY KEY,
  stream_id text COLLATE "C" NOT NULL,
  version int NOT NULL,
  type text COLLATE "C" NOT NULL,
  schema_version int NOT NULL DEFAULT 1,
  id uuid NOT NULL,
  data json NOT NULL,
  metadata json,
  recorded_at bigint NOT NULL,
  CONSTRAINT events_stream_version UNIQUE (stream_id, version),
  CONSTRAINT events_id UNIQUE (id)
);
CREATE INDEX IF NOT EXISTS events_correlation ON events ((metadata->>'correlationId')) WHERE metadata IS NOT NULL;

CREATE TABLE IF NOT EXISTS streams (
  stream_id text COLLATE "C" PRIMARY KEY,
  category text COLLATE "C" NOT NULL,
  version int NOT NULL DEFAULT 0,
  event_count bigint NOT NULL DEFAULT 0,
  first_position bigint,
  last_position bigint,
  created_at bigint,
  updated_at bigint,
  -- 0 live, 1 soft-deleted, 2 tombstoned
  state smallint NOT NULL DEFAULT 0,
  -- the lowest visible version set by a soft delete
  deleted_before int NOT NULL DEFAULT 0,
  metadata jsonb NOT NULL DEFAULT '{}',
  -- true when metadata or a delete hides any event of the stream
  restricted boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS streams_category ON streams (category);
CREATE INDEX IF NOT EXISTS streams_restricted ON streams (stream_id) WHERE restricted;

-- How many events of each type a stream stores: kept by append and scavenge (stream list by type, stats).
CREATE TABLE IF NOT EXISTS stream_types (
  stream_id text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (stream_id, type)
);

CREATE TABLE IF NOT EXISTS maintenance_log (
  at bigint NOT NULL,
  operation text NOT NULL,
  details jsonb NOT NULL
);

-- Stored events are immutable: UPDATE and TRUNCATE are refused, DELETE only inside scavenge's logged transaction
-- (which sets esw.allow_delete for itself with SET LOCAL).
CREATE OR REPLACE FUNCTION esw_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('esw.allow_delete', true) = 'on' THEN
    RETURN OLD;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'stored events are immutable: DELETE refused outside logged maintenance';
  END IF;
  RAISE EXCEPTION 'stored events are immutable: % refused', TG_OP;
END
$fn$;
DROP TRIGGER IF EXISTS events_immutable ON events;
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION esw_events_immutable();
DROP TRIGGER IF EXISTS events_no_truncate ON events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION esw_events_immutable();

CREATE OR REPLACE FUNCTION esw_lock() RETURNS void LANGUAGE sql AS $fn$ SELECT ${lock} $fn$;

-- One append, in one statement (so one round trip and one transaction when called on its own): the repeat check,
-- tombstone and expected version, positions from store_head under the lock, the rows, the stream row, the type
-- counts and a notification (delivered at commit, in commit order) for listeners in every process.
CREATE OR REPLACE FUNCTION esw_append(
  p_stream text, p_category text, p_expected text, p_id_given boolean,
  p_ids uuid[], p_types text[], p_schema_versions int[], p_data json[], p_metadata json[], p_now bigint
) RETURNS TABLE (next_version int, first_position bigint, last_position bigint, duplicate boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
  n int := cardinality(p_ids);
  s_version int;
  s_state smallint;
  actual int;
  head bigint;
  r record;
  first_v int;
  first_p bigint;
  last_p bigint;
  i int;
  distinct_types text[];
  payload text;
BEGIN
  PERFORM ${lock};
  IF p_id_given THEN
    SELECT e.stream_id, e.version, e.position INTO r FROM events e WHERE e.id = p_ids[1];
    IF FOUND THEN
      IF r.stream_id <> p_stream THEN
        RAISE EXCEPTION USING ERRCODE = '${SQLSTATE.duplicateEventId}', MESSAGE = 'elsewhere',
          DETAIL = json_build_object('index', 0, 'storedIn', r.stream_id)::text;
      END IF;
      first_v := r.version;
      first_p := r.position;
      last_p := r.position;
      FOR i IN 2..n LOOP
        SELECT e.stream_id, e.version, e.position INTO r FROM events e WHERE e.id = p_ids[i];
        IF NOT FOUND OR r.stream_id <> p_stream OR r.version <> first_v + i - 1 THEN
          RAISE EXCEPTION USING ERRCODE = '${SQLSTATE.duplicateEventId}', MESSAGE = 'partial',
            DETAIL = json_build_object('index', i - 1, 'stored', FOUND)::text;
        END IF;
        last_p := r.position;
      END LOOP;
      RETURN QUERY SELECT first_v + n - 1, first_p, last_p, true;
      RETURN;
    END IF;
  END IF;
  SELECT st.version, st.state INTO s_version, s_state FROM streams st WHERE st.stream_id = p_stream;
  IF s_state = 2 THEN
    RAISE EXCEPTION USING ERRCODE = '${SQLSTATE.streamDeleted}', MESSAGE = 'tombstoned';
  END IF;
  actual := coalesce(s_version, 0);
  IF NOT (p_expected = 'any' OR (p_expected = 'no-stream' AND actual = 0) OR (p_expected = 'exists' AND actual > 0)
          OR (p_expected ~ '^[0-9]+$' AND p_expected::bigint = actual)) THEN
    RAISE EXCEPTION USING ERRCODE = '${SQLSTATE.wrongExpectedVersion}', MESSAGE = 'wrong expected version',
      DETAIL = json_build_object('actual', actual)::text;
  END IF;
  UPDATE store_head SET position = position + n WHERE id = 1 RETURNING position INTO head;
  first_p := head - n + 1;
  INSERT INTO events (position, stream_id, version, type, schema_version, id, data, metadata, recorded_at)
    SELECT first_p + t.o - 1, p_stream, actual + t.o, t.type, t.sv, t.id, t.data, t.md, p_now
    FROM unnest(p_ids, p_types, p_schema_versions, p_data, p_metadata) WITH ORDINALITY AS t(id, type, sv, data, md, o);
  IF s_version IS NULL THEN
    INSERT INTO streams (stream_id, category, version, event_count, first_position, last_position, created_at, updated_at)
      VALUES (p_stream, p_category, actual + n, n, first_p, head, p_now, p_now);
  ELSE
    UPDATE streams SET version = actual + n, event_count = event_count + n, first_position = coalesce(streams.first_position, first_p),
      last_position = head, updated_at = p_now, state = CASE state WHEN 1 THEN 0 ELSE state END
      WHERE stream_id = p_stream;
  END IF;
  SELECT array_agg(x.type ORDER BY x.type) INTO distinct_types FROM (SELECT DISTINCT u.type FROM unnest(p_types) AS u(type)) x;
  INSERT INTO stream_types AS st (stream_id, type, count)
    SELECT p_stream, u.type, count(*) FROM unnest(p_types) AS u(type) GROUP BY u.type
    ON CONFLICT (stream_id, type) DO UPDATE SET count = st.count + excluded.count;
  payload := json_build_object('s', p_stream, 'f', first_p, 'l', head, 'n', n, 't', distinct_types)::text;
  IF octet_length(payload) > 7900 THEN
    payload := json_build_object('s', p_stream, 'f', first_p, 'l', head, 'n', n)::text;
  END IF;
  PERFORM pg_notify(${channel}, payload);
  RETURN QUERY SELECT actual + n, first_p, head, false;
END
$fn$;
`
}
