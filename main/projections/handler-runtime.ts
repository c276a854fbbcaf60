import { z } from 'zod'
import { seedOf } from '../sandbox/runtime/seed'

/**
 * Projection handlers inside the sandbox. Only JSON crosses, so a handler's `get`/`query` cannot call back into
 * the host. Instead a batch runs against three layers: the batch's own overlay (its writes so far), a row cache of
 * committed rows that lives in this context across batches (LRU, dropped whenever the host changes its epoch),
 * and, for anything else, a miss. On the first miss the batch goes on in "probing" mode — missing reads answer
 * `undefined`, handler errors are swallowed — only to collect every key and query the batch will need; then it
 * answers `need` and the host reads those rows and runs the batch again from its first event (handlers are
 * deterministic, so a re-run is safe). A batch that finishes without a miss answers the net write per touched key,
 * which the host applies with its checkpoint in one transaction; the overlay then becomes part of the cache.
 */

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
  position: number
  stream: string
}
interface Cache {
  epoch: string
  tables: Map<string, Map<string, Row | null>>
  size: number
}

const MAX_CACHED_ROWS = 20_000
const caches = new Map<string, Cache>()
let failedIndex = -1

function cacheFor(id: string, epoch: string): Cache {
  let cache = caches.get(id)
  if (!cache || cache.epoch !== epoch) {
    cache = { epoch, tables: new Map(), size: 0 }
    caches.set(id, cache)
  }
  return cache
}

function cacheSet(cache: Cache, table: string, key: string, row: Row | null) {
  let t = cache.tables.get(table)
  if (!t) cache.tables.set(table, (t = new Map()))
  if (t.has(key)) t.delete(key)
  else cache.size++
  t.set(key, row)
  // Map order is insertion order: re-inserting on write keeps the least recently written first.
  while (cache.size > MAX_CACHED_ROWS) {
    let evicted = false
    for (const m of cache.tables.values()) {
      const first = m.keys().next()
      if (!first.done) {
        m.delete(first.value)
        cache.size--
        evicted = true
        if (cache.size <= MAX_CACHED_ROWS) break
      }
    }
    if (!evicted) break
  }
}

function tableOf(def: ProjectionDef, table: string): TableDef {
  const t = Object.hasOwn(def.tables ?? {}, table) ? def.tables[table] : undefined
  if (!t) throw new Error(`Projection ${def.name} has no table '${table}' (tables: ${Object.keys(def.tables ?? {}).join(', ')})`)
  return t
}

function keyOf(def: ProjectionDef, table: string, key: KeyInput): string {
  const t = tableOf(def, table)
  let values: Json[]
  if (Array.isArray(key)) values = key
  else if (key !== null && typeof key === 'object') values = t.key.map((k) => (key as Record<string, Json>)[k] ?? null)
  else values = [key]
  if (values.length !== t.key.length) throw new Error(`${def.name}.${table}: a key has ${t.key.length} part(s) (${t.key.join(', ')}), got ${values.length}`)
  for (const [i, v] of values.entries()) {
    if (v === null || v === undefined) throw new Error(`${def.name}.${table}: key column '${t.key[i]}' is missing`)
  }
  return JSON.stringify(values)
}

function cleanRow(def: ProjectionDef, table: string, row: Row): Row {
  const t = tableOf(def, table)
  const out: Row = {}
  for (const [col, value] of Object.entries(row)) {
    if (!Object.hasOwn(t.columns, col)) throw new Error(`${def.name}.${table} has no column '${col}' (columns: ${Object.keys(t.columns).join(', ')})`)
    if (value === undefined) continue
    const type = t.columns[col]
    if (type === 'json') out[col] = JSON.parse(JSON.stringify(value)) as Json
    else if (value !== null && (type === 'integer' || type === 'real') && typeof value !== 'number') throw new Error(`${def.name}.${table}.${col} is ${type}, got ${typeof value}`)
    else out[col] = value
  }
  return out
}

function copy(row: Row | null | undefined): Row | undefined {
  if (!row) return undefined
  return JSON.parse(JSON.stringify(row)) as Row
}

function matches(row: Row, where: Record<string, Json> | undefined): boolean {
  if (!where) return true
  for (const [col, value] of Object.entries(where)) if (JSON.stringify(row[col] ?? null) !== JSON.stringify(value ?? null)) return false
  return true
}


export interface RunRequest {
  id: string
  epoch: string
  rows?: Array<[string, string, Row | null]>
  queries?: Array<[string, Row[]]>
  events: Array<Record<string, unknown>>
}

export type RunAnswer =
  | { outcome: 'done'; writes: Array<[string, string, Row | null, number, string]>; handled: number }
  | { outcome: 'need'; rows: Array<[string, string]>; queries: Array<{ signature: string; table: string; where: Record<string, Json>; limit: number }> }

/** Runs one batch of events through a projection's handlers; see the comment at the top. */
export function runProjection(def: ProjectionDef, request: RunRequest, setEventClock: (event: Record<string, unknown>) => void): RunAnswer {
  const cache = cacheFor(request.id, request.epoch)
  for (const [table, key, row] of request.rows ?? []) cacheSet(cache, table, key, row)
  const queryRows = new Map<string, Row[]>(request.queries ?? [])
  const overlay = new Map<string, Map<string, Entry>>()
  const missingRows = new Map<string, [string, string]>()
  const missingQueries = new Map<string, { signature: string; table: string; where: Record<string, Json>; limit: number }>()
  let probing = false
  let current: Record<string, unknown> = {}
  let handled = 0

  const write = (table: string, key: string, row: Row | null) => {
    let t = overlay.get(table)
    if (!t) overlay.set(table, (t = new Map()))
    t.set(key, { row, position: Number(current.position ?? 0), stream: String(current.streamId ?? '') })
  }
  const read = (table: string, key: string): Row | null | undefined => {
    const o = overlay.get(table)?.get(key)
    if (o) return o.row
    const t = cache.tables.get(table)
    if (t?.has(key)) return t.get(key) ?? null
    missingRows.set(`${table}\u0000${key}`, [table, key])
    probing = true
    return undefined
  }
  const ctx: HandlerContext = {
    get: (table, key) => copy(read(table, keyOf(def, table, key))),
    upsert: (table, row) => {
      const clean = cleanRow(def, table, row)
      write(table, keyOf(def, table, clean), clean)
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
      for (const col of Object.keys(where)) if (!Object.hasOwn(t.columns, col)) throw new Error(`${def.name}.${table} has no column '${col}'`)
      const signature = JSON.stringify([table, where, limit])
      const base = queryRows.get(signature)
      if (!base) {
        // Fetch enough to survive the batch's own deletes and changes of matching rows.
        missingQueries.set(signature, { signature, table, where, limit: limit + (overlay.get(table)?.size ?? 0) + 100 })
        probing = true
        return []
      }
      const found = new Map<string, Row>()
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

  failedIndex = -1
  for (let i = 0; i < request.events.length; i++) {
    const event = request.events[i]
    const handler = Object.hasOwn(def.handlers ?? {}, String(event.type)) ? def.handlers[String(event.type)] : undefined
    if (!handler) continue
    current = event
    setEventClock(event)
    try {
      const result = handler.call(def.handlers, event, ctx) as unknown
      if (result && typeof (result as { then?: unknown }).then === 'function') throw new Error(`${def.name}: the handler of ${String(event.type)} returned a Promise; handlers are synchronous`)
      handled++
    } catch (error) {
      // While probing, an error may come from a read that answered undefined; the full re-run decides.
      if (probing) continue
      failedIndex = i
      throw error
    }
  }
  if (probing) return { outcome: 'need', rows: [...missingRows.values()], queries: [...missingQueries.values()] }
  const writes: Array<[string, string, Row | null, number, string]> = []
  for (const [table, entries] of overlay) {
    for (const [key, entry] of entries) {
      writes.push([table, key, entry.row, entry.position, entry.stream])
      cacheSet(cache, table, key, entry.row)
    }
  }
  return { outcome: 'done', writes, handled }
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

export function seedForEvent(event: Record<string, unknown>): number {
  return seedOf(String(event.id ?? event.position ?? ''))
}
