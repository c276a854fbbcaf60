import { randomBytes } from 'node:crypto'
import type Database from 'better-sqlite3'
import type { ProjectionDescriptor, TableDef } from '../../shared/contract/projections'
import { RpcError } from '../../shared/rpc/errors'

/**
 * Read-model tables: real SQLite tables, one namespace per projection (`rm_<projection>_<table>`, shadows
 * `rm_<projection>__shadow_<table>`), each with two hidden columns naming the last event that wrote the row.
 */

export type Row = Record<string, unknown>
export const HIDDEN_COLUMNS = ['_position', '_stream'] as const
const identifier = /^[A-Za-z][A-Za-z0-9_]{0,62}$/

export function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

export function sqlTableName(projection: string, table: string, shadow = false): string {
  return shadow ? `rm_${projection}__shadow_${table}` : `rm_${projection}_${table}`
}

/** The checkpoint name of a projection's live or shadow run. */
export function checkpointName(projection: string, shadow = false): string {
  return shadow ? `${projection}__shadow` : projection
}

export function checkDescriptor(d: ProjectionDescriptor): void {
  const where = `Projection ${d.name} (${d.file})`
  if (!identifier.test(d.name) || d.name.includes('__')) throw new RpcError('InvalidInput', `${where}: the name must be letters, digits and single underscores`, { file: d.file })
  if (Object.keys(d.tables).length === 0) throw new RpcError('InvalidInput', `${where} declares no tables`, { file: d.file })
  for (const [name, t] of Object.entries(d.tables)) {
    if (!identifier.test(name) || name.includes('__')) throw new RpcError('InvalidInput', `${where}: table name '${name}' must be letters, digits and single underscores`, { file: d.file })
    for (const col of Object.keys(t.columns)) {
      if (!identifier.test(col) || col.startsWith('_')) throw new RpcError('InvalidInput', `${where}: column ${name}.${col} must be a plain name not starting with _`, { file: d.file })
    }
    for (const col of [...t.key, ...(t.indexes ?? []).flat()]) {
      if (!Object.hasOwn(t.columns, col)) throw new RpcError('InvalidInput', `${where}: table ${name} uses column '${col}' in a key or index but does not declare it`, { file: d.file })
    }
  }
}

/** The schema part of a descriptor that decides whether stored tables still fit. */
export function schemaSignature(d: ProjectionDescriptor): string {
  return JSON.stringify(Object.entries(d.tables).sort(([a], [b]) => a.localeCompare(b)))
}

function sqlType(type: string): string {
  return type === 'integer' ? 'INTEGER' : type === 'real' ? 'REAL' : 'TEXT'
}

/** Creates a projection's tables (and their indexes) when missing. `schema` is an attached database or 'main'. */
export function createTables(db: Database.Database, d: ProjectionDescriptor, options: { shadow?: boolean; schema?: string } = {}): void {
  const schema = quote(options.schema ?? 'main')
  for (const [name, t] of Object.entries(d.tables)) {
    const table = sqlTableName(d.name, name, options.shadow)
    const exists = db.prepare(`SELECT 1 FROM ${schema}.sqlite_master WHERE type = 'table' AND name = ?`).get(table)
    if (exists) continue
    const columns = Object.entries(t.columns).map(([c, type]) => `${quote(c)} ${sqlType(type)}`)
    db.exec(`CREATE TABLE ${schema}.${quote(table)} (${columns.join(', ')}, _position INTEGER, _stream TEXT, PRIMARY KEY (${t.key.map(quote).join(', ')})) WITHOUT ROWID`)
    // Index names carry a token, not the table name alone, so a promoted shadow keeps its indexes across the rename.
    for (const [i, cols] of (t.indexes ?? []).entries()) {
      db.exec(`CREATE INDEX ${schema}.${quote(`${table}__ix${i}_${randomBytes(4).toString('hex')}`)} ON ${quote(table)} (${cols.map(quote).join(', ')})`)
    }
  }
}

export function dropTables(db: Database.Database, projection: string, tables: string[], options: { shadow?: boolean; schema?: string } = {}): void {
  const schema = quote(options.schema ?? 'main')
  for (const name of tables) db.exec(`DROP TABLE IF EXISTS ${schema}.${quote(sqlTableName(projection, name, options.shadow))}`)
}

export function ensureCheckpoints(db: Database.Database, schema = 'main'): void {
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${quote(schema)}.projection_checkpoints (projection TEXT PRIMARY KEY, position INTEGER NOT NULL, status TEXT NOT NULL, error TEXT, updated_at INTEGER NOT NULL, schema TEXT)`
  )
}

export interface Checkpoint {
  projection: string
  position: number
  status: string
  error: string | null
  updated_at: number
  schema: string | null
}

export function readCheckpoint(db: Database.Database, name: string, schema = 'main'): Checkpoint | null {
  return (db.prepare(`SELECT * FROM ${quote(schema)}.projection_checkpoints WHERE projection = ?`).get(name) as Checkpoint | undefined) ?? null
}

export function writeCheckpoint(db: Database.Database, c: Omit<Checkpoint, 'updated_at'>, schema = 'main'): void {
  db.prepare(
    `INSERT INTO ${quote(schema)}.projection_checkpoints (projection, position, status, error, updated_at, schema) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(projection) DO UPDATE SET position = excluded.position, status = excluded.status, error = excluded.error, updated_at = excluded.updated_at, schema = excluded.schema`
  ).run(c.projection, c.position, c.status, c.error, Date.now(), c.schema)
}

/** Turns a value from user code into what SQLite stores for a column of the given type. */
export function encodeValue(type: string, value: unknown): unknown {
  if (value === undefined || value === null) return null
  if (type === 'json') return JSON.stringify(value)
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'object') return JSON.stringify(value)
  return value
}

export function decodeRow(t: TableDef, row: Row, hidden = false): Row {
  const out: Row = {}
  for (const [col, type] of Object.entries(t.columns)) {
    const v = row[col]
    out[col] = type === 'json' && typeof v === 'string' ? (JSON.parse(v) as unknown) : (v ?? null)
  }
  if (hidden) for (const h of HIDDEN_COLUMNS) out[h] = row[h] ?? null
  return out
}

/** Prepared statements to read and write one table by key. */
export class TableAccess {
  private readonly upsertStmt: Database.Statement
  private readonly deleteStmt: Database.Statement
  private readonly getStmt: Database.Statement<unknown[], Row>
  private readonly columns: string[]

  constructor(
    db: Database.Database,
    readonly def: TableDef,
    readonly sqlName: string,
    schema = 'main'
  ) {
    const full = `${quote(schema)}.${quote(sqlName)}`
    this.columns = Object.keys(def.columns)
    const all = [...this.columns, ...HIDDEN_COLUMNS]
    this.upsertStmt = db.prepare(`INSERT OR REPLACE INTO ${full} (${all.map(quote).join(', ')}) VALUES (${all.map(() => '?').join(', ')})`)
    const keyWhere = def.key.map((k) => `${quote(k)} = ?`).join(' AND ')
    this.deleteStmt = db.prepare(`DELETE FROM ${full} WHERE ${keyWhere}`)
    this.getStmt = db.prepare(`SELECT * FROM ${full} WHERE ${keyWhere}`)
  }

  upsert(row: Row, position: number, stream: string): void {
    const values = this.columns.map((c) => encodeValue(this.def.columns[c], row[c]))
    this.upsertStmt.run(...values, position, stream)
  }

  delete(keyValues: unknown[]): void {
    this.deleteStmt.run(...keyValues)
  }

  get(keyValues: unknown[]): Row | null {
    const row = this.getStmt.get(...keyValues)
    return row ? decodeRow(this.def, row) : null
  }
}
