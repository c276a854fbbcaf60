import { z } from 'zod'

/**
 * Projection handlers inside the sandbox. Only JSON crosses, so a handler's `get`/`query` cannot call back into
 * the host. Instead a batch runs against three layers: the batch's own overlay (its writes so far), a row cache of
 * committed rows that lives in this context across batches (LRU, dropped whenever the host changes its epoch),
 * and, for anything else, a miss. On the first miss the batch goes on in "probing" mode — missing reads answer
 * `undefined`, handler errors are swallowed — only to collect every key and query the batch will need; then it
 * answers `need` and the host reads those rows and runs the batch again from its first event (handlers are
 * deterministic, so a re-run is safe). A batch that finishes without a miss answers the net write per touched key,
 * which the host applies with its checkpoint in one transaction; the overlay then becomes part of the cache.
 *
 * Only reads miss: `upsert` and `delete` write blindly (a key's net write is its last one), and the cache keeps
 * the rows of a table only from the first time a handler reads that table, so a table that is only written (one
 * row per event, say) costs no cache and never makes a batch run twice.
 *
 * In a vm context every lookup of a global (`Object`, `JSON`, `Math`, `Map` ...) goes through the context's
 * interceptors and costs far more than a local; the per-event paths below use the intrinsics bound here, once.
 */

const { hasOwn, keys: objectKeys, entries: objectEntries } = Object
const { stringify, parse } = JSON
const { isArray } = Array
const { imul } = Math
const NativeMap = Map
const toText = String

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Row = Record<string, Json>
type ColumnType = 'text' | 'integer' | 'real' | 'json'
interface TableDef {
  columns: Record<string, ColumnType>
  key: string[]
  indexes?: string[][]
}
interface QueryDef {
  input?: z.ZodType
  run: (input: unknown, q: QueryBuilder) => unknown
  description?: string
}
export interface ProjectionDef {
  kind: 'projection'
  name: string
  description?: string
  from?: 'all' | { categories: string[] } | { eventTypes: string[] }
  lifecycle?: 'inline' | 'async'
  tables: Record<string, TableDef>
  handlers: Record<string, (event: Record<string, unknown>, ctx: HandlerContext) => void>
  queries?: Record<string, QueryDef>
}
type KeyInput = Json | Json[] | Record<string, Json>
interface QueryOptions {
  where?: Record<string, Json>
  index?: string[]
  limit?: number
}
export interface HandlerContext {
  get(table: string, key: KeyInput): Row | undefined
  upsert(table: string, row: Row): void
  update(table: string, key: KeyInput, patch: Row): boolean
  delete(table: string, key: KeyInput): void
  query(table: string, options?: QueryOptions): Row[]
}
interface QueryBuilder {
  table(name: string, options?: { where?: Record<string, unknown>; orderBy?: string; direction?: 'asc' | 'desc' }): Json
}

interface Entry {
  row: Row | null
  /** The index in the batch of the event that wrote it last. */
  event: number
}
interface Cache {
  epoch: string
  tables: Map<string, Map<string, Row | null>>
  size: number
}

const MAX_CACHED_ROWS = 20_000
const caches = new NativeMap<string, Cache>()
let failedIndex = -1

function cacheFor(id: string, epoch: string): Cache {
  let cache = caches.get(id)
  if (!cache || cache.epoch !== epoch) {
    cache = { epoch, tables: new NativeMap(), size: 0 }
    caches.set(id, cache)
  }
  return cache
}

/** Map order is insertion order: re-inserting on write keeps the least recently written first. */
function cacheSet(cache: Cache, t: Map<string, Row | null>, key: string, row: Row | null) {
  if (t.delete(key)) cache.size--
  t.set(key, row)
  cache.size++
}

/** Drops the least recently written rows beyond the limit, taking one from each table in turn. */
function trimCache(cache: Cache) {
  if (cache.size <= MAX_CACHED_ROWS) return
  const tables: Array<[Map<string, Row | null>, Iterator<string>]> = []
  for (const m of cache.tables.values()) tables.push([m, m.keys()])
  while (cache.size > MAX_CACHED_ROWS) {
    let evicted = false
    for (const [m, keys] of tables) {
      const first = keys.next()
      if (first.done) continue
      m.delete(first.value as string)
      cache.size--
      evicted = true
      if (cache.size <= MAX_CACHED_ROWS) break
    }
    if (!evicted) break
  }
}

function tableOf(def: ProjectionDef, table: string): TableDef {
  const t = hasOwn(def.tables ?? {}, table) ? def.tables[table] : undefined
  if (!t) throw new Error(`Projection ${def.name} has no table '${table}' (tables: ${objectKeys(def.tables ?? {}).join(', ')})`)
  return t
}

function keyOf(def: ProjectionDef, table: string, key: KeyInput, t = tableOf(def, table)): string {
  if (t.key.length === 1 && key !== null && typeof key === 'object' && !isArray(key)) {
    // The common case, a row of a table keyed by one column.
    const value = key[t.key[0]]
    if (value === null || value === undefined) throw new Error(`${def.name}.${table}: key column '${t.key[0]}' is missing`)
    return stringify([value])
  }
  let values: Json[]
  if (isArray(key)) values = key
  else if (key !== null && typeof key === 'object') values = t.key.map((k) => (key as Record<string, Json>)[k] ?? null)
  else values = [key]
  if (values.length !== t.key.length) throw new Error(`${def.name}.${table}: a key has ${t.key.length} part(s) (${t.key.join(', ')}), got ${values.length}`)
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) throw new Error(`${def.name}.${table}: key column '${t.key[i]}' is missing`)
  }
  return stringify(values)
}

function cleanRow(def: ProjectionDef, table: string, row: Row, t = tableOf(def, table)): Row {
  const out: Row = {}
  for (const col of objectKeys(row)) {
    if (!hasOwn(t.columns, col)) throw new Error(`${def.name}.${table} has no column '${col}' (columns: ${objectKeys(t.columns).join(', ')})`)
    const value = row[col]
    if (value === undefined) continue
    const type = t.columns[col]
    if (type === 'json') out[col] = parse(stringify(value)) as Json
    else if (value !== null && (type === 'integer' || type === 'real') && typeof value !== 'number') throw new Error(`${def.name}.${table}.${col} is ${type}, got ${typeof value}`)
    else out[col] = value
  }
  return out
}

function copy(row: Row | null | undefined): Row | undefined {
  if (!row) return undefined
  return parse(stringify(row)) as Row
}

function matches(row: Row, where: Record<string, Json> | undefined): boolean {
  if (!where) return true
  for (const [col, value] of objectEntries(where)) if (stringify(row[col] ?? null) !== stringify(value ?? null)) return false
  return true
}

export interface RunRequest {
  id: string
  epoch: string
  rows?: Array<[string, string, Row | null]>
  queries?: Array<[string, Row[]]>
  /** The events as tuples (their field names would be most of the request): see `eventOf`. */
  events: EventTuple[]
}

/** An event as it crosses: [position, streamId, version, type, schemaVersion, id, data, metadata, recordedAt]. */
export type EventTuple = [number, string, number, string, number, string, Json, Json, number]

/** The event a handler sees, built from its tuple inside this context. */
function eventOf(t: EventTuple): Record<string, unknown> {
  return { position: t[0], streamId: t[1], version: t[2], type: t[3], schemaVersion: t[4], id: t[5], data: t[6], metadata: t[7], recordedAt: t[8] }
}

/**
 * A finished batch answers its net writes compactly (the answer is serialized and parsed again on its way to the
 * host): each touched table once as [name, columns, positions of the key columns in columns], then per key
 * `[table, event, ...values]` for a row (values in column order) or `[-1 - table, event, key]` for a delete, where
 * table indexes `tables` and event is the index in the request's events of the event that wrote the key last.
 */
export interface DoneAnswer {
  outcome: 'done'
  handled: number
  tables: Array<[name: string, columns: string[], key: number[]]>
  writes: Json[][]
}
export interface NeedAnswer {
  outcome: 'need'
  rows: Array<[string, string]>
  queries: Array<{ signature: string; table: string; where: Record<string, Json>; limit: number }>
}
export type RunAnswer = DoneAnswer | NeedAnswer

type Handler = ProjectionDef['handlers'][string]

/** Runs one batch of events through a projection's handlers; see the comment at the top. */
export function runProjection(def: ProjectionDef, request: RunRequest, setEventClock: (event: Record<string, unknown>) => void): RunAnswer {
  const cache = cacheFor(request.id, request.epoch)
  for (const [table, key, row] of request.rows ?? []) {
    let t = cache.tables.get(table)
    if (!t) cache.tables.set(table, (t = new NativeMap()))
    cacheSet(cache, t, key, row)
  }
  const queryRows = new NativeMap<string, Row[]>(request.queries ?? [])
  const overlay = new NativeMap<string, Map<string, Entry>>()
  const missingRows = new NativeMap<string, [string, string]>()
  const missingQueries = new NativeMap<string, { signature: string; table: string; where: Record<string, Json>; limit: number }>()
  let probing = false
  let index = 0
  let handled = 0

  const write = (table: string, key: string, row: Row | null) => {
    let t = overlay.get(table)
    if (!t) overlay.set(table, (t = new NativeMap()))
    t.set(key, { row, event: index })
  }
  const read = (table: string, key: string): Row | null | undefined => {
    const o = overlay.get(table)?.get(key)
    if (o) return o.row
    let t = cache.tables.get(table)
    // From its first read on, a table's written rows are kept (a table that is only written needs no cache).
    if (!t) cache.tables.set(table, (t = new NativeMap()))
    if (t.has(key)) return t.get(key) ?? null
    missingRows.set(`${table}\u0000${key}`, [table, key])
    probing = true
    return undefined
  }
  const ctx: HandlerContext = {
    get: (table, key) => copy(read(table, keyOf(def, table, key))),
    upsert: (table, row) => {
      // A blind write: the net write of a key is its last row, so an upsert needs no row from the host.
      const t = tableOf(def, table)
      const clean = cleanRow(def, table, row, t)
      write(table, keyOf(def, table, clean, t), clean)
    },
    update: (table, key, patch) => {
      const k = keyOf(def, table, key)
      const before = read(table, k)
      if (!before) return false
      const next = { ...before, ...cleanRow(def, table, patch) }
      if (keyOf(def, table, next) !== k) throw new Error(`${def.name}.${table}: update may not change the key`)
      write(table, k, next)
      return true
    },
    delete: (table, key) => write(table, keyOf(def, table, key), null),
    query: (table, options = {}) => {
      const t = tableOf(def, table)
      const limit = Math.min(Math.max(options.limit ?? 1000, 1), 10_000)
      const where = options.where ?? {}
      for (const col of objectKeys(where)) if (!hasOwn(t.columns, col)) throw new Error(`${def.name}.${table} has no column '${col}'`)
      const signature = stringify([table, where, limit])
      const base = queryRows.get(signature)
      if (!base) {
        // Fetch enough to survive the batch's own deletes and changes of matching rows.
        missingQueries.set(signature, { signature, table, where, limit: limit + (overlay.get(table)?.size ?? 0) + 100 })
        probing = true
        return []
      }
      const found = new NativeMap<string, Row>()
      for (const row of base) found.set(keyOf(def, table, row), row)
      for (const [key, entry] of overlay.get(table) ?? []) {
        if (entry.row && matches(entry.row, where)) found.set(key, entry.row)
        else found.delete(key)
      }
      return [...found.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit)
        .map(([, row]) => copy(row)!)
    }
  }

  const handlers = def.handlers ?? {}
  const byType = new NativeMap<string, Handler | null>()
  const events = request.events
  failedIndex = -1
  for (let i = 0; i < events.length; i++) {
    const type = toText(events[i][3])
    let handler = byType.get(type)
    if (handler === undefined) byType.set(type, (handler = hasOwn(handlers, type) ? handlers[type] : null))
    if (!handler) continue
    const event = eventOf(events[i])
    index = i
    setEventClock(event)
    try {
      const result = handler.call(handlers, event, ctx) as unknown
      if (result && typeof (result as { then?: unknown }).then === 'function') throw new Error(`${def.name}: the handler of ${type} returned a Promise; handlers are synchronous`)
      handled++
    } catch (error) {
      // While probing, an error may come from a read that answered undefined; the full re-run decides.
      if (probing) continue
      failedIndex = i
      throw error
    }
  }
  if (probing) return { outcome: 'need', rows: [...missingRows.values()], queries: [...missingQueries.values()] }
  const tables: DoneAnswer['tables'] = []
  const writes: Json[][] = []
  for (const [table, entries] of overlay) {
    const columns = objectKeys(tableOf(def, table).columns)
    const t = tables.push([table, columns, tableOf(def, table).key.map((k) => columns.indexOf(k))]) - 1
    const cached = cache.tables.get(table)
    for (const [key, entry] of entries) {
      const row = entry.row
      if (row) {
        const w: Json[] = [t, entry.event]
        for (let c = 0; c < columns.length; c++) w.push(row[columns[c]] ?? null)
        writes.push(w)
      } else writes.push([-1 - t, entry.event, key])
      if (cached) cacheSet(cache, cached, key, row)
    }
  }
  trimCache(cache)
  return { outcome: 'done', handled, tables, writes }
}

/** The index in the last batch of the event whose handler threw (-1 when none did). */
export function lastFailedIndex(): number {
  return failedIndex
}

/** Everything the host needs to know about a projection, as plain data. */
export function describeProjection(def: ProjectionDef, exportName: string, toJsonSchema: (schema: z.ZodType) => Json): Json {
  const from = def.from ?? 'all'
  return {
    kind: 'projection',
    exportName,
    name: String(def.name ?? exportName),
    description: def.description ?? null,
    from: from as Json,
    lifecycle: def.lifecycle === 'inline' ? 'inline' : 'async',
    tables: Object.fromEntries(
      Object.entries(def.tables ?? {}).map(([name, t]) => [name, { columns: { ...t.columns }, key: [...t.key], indexes: (t.indexes ?? []).map((i) => [...i]) }])
    ) as Json,
    handles: Object.keys(def.handlers ?? {}),
    queries: Object.entries(def.queries ?? {}).map(([name, q]) => ({
      name,
      description: q.description ?? q.input?.description ?? null,
      schema: q.input ? toJsonSchema(q.input) : null
    }))
  }
}

/** Validates a query's input with its schema and returns the read it asks for (run by the host). */
export function planQuery(def: ProjectionDef, name: string, input: unknown, formatPath: (path: readonly PropertyKey[]) => string): Json {
  const q = Object.hasOwn(def.queries ?? {}, name) ? def.queries![name] : undefined
  if (!q) return { outcome: 'unknown-query', queries: Object.keys(def.queries ?? {}) }
  let parsed: unknown = input
  if (q.input) {
    const result = q.input.safeParse(input)
    if (!result.success) return { outcome: 'invalid', issues: result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) }
    parsed = result.data
  }
  const builder: QueryBuilder = {
    table: (table, options = {}) => {
      tableOf(def, table)
      return JSON.parse(JSON.stringify({ table, where: options.where ?? {}, orderBy: options.orderBy ?? null, direction: options.direction ?? 'asc' })) as Json
    }
  }
  const plan = q.run(parsed, builder) as { table?: unknown }
  if (!plan || typeof plan !== 'object' || typeof plan.table !== 'string') throw new Error(`${def.name}.queries.${name} must return q.table(...)`)
  return { outcome: 'planned', plan: plan as Json }
}

/** The seed of an event's randomness: FNV-1a of its id, the same value as `seedOf` (with the bound `imul`). */
export function seedForEvent(event: Record<string, unknown>): number {
  const text = toText(event.id ?? event.position ?? '')
  let h = 2166136261
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = imul(h, 16777619)
  }
  return h | 0
}
