import type Database from 'better-sqlite3'
import type { ProjectionDescriptor, RowDiff } from '../../shared/contract/projections'
import { RpcError } from '../../shared/rpc/errors'
import { checkpointName, decodeRow, dropTables, quote, readCheckpoint, schemaSignature, sqlTableName, writeCheckpoint, type Row } from './tables'

function tableColumns(db: Database.Database, table: string): Set<string> | null {
  const info = db.prepare(`PRAGMA table_info(${quote(table)})`).all() as Array<{ name: string }>
  return info.length ? new Set(info.map((c) => c.name)) : null
}

/** Row-level differences between two tables with the same key, comparing the declared columns only. */
export function diffTables(db: Database.Database, d: ProjectionDescriptor, table: string, before: string, after: string, samples = 10): RowDiff {
  const t = d.tables[table]
  const cols = Object.keys(t.columns)
  const beforeCols = tableColumns(db, before)
  const afterCols = tableColumns(db, after)
  const empty: RowDiff = { table, added: 0, removed: 0, changed: 0, unchanged: 0, samples: { added: [], removed: [], changed: [] } }
  if (!afterCols) return empty
  const decode = (r: Row) => decodeRow(t, r)
  if (!beforeCols) {
    const added = (db.prepare(`SELECT count(*) AS n FROM ${quote(after)}`).get() as { n: number }).n
    return { ...empty, added, samples: { ...empty.samples, added: (db.prepare(`SELECT * FROM ${quote(after)} LIMIT ?`).all(samples) as Row[]).map(decode) } }
  }
  const col = (alias: string, c: string, have: Set<string>) => (have.has(c) ? `${alias}.${quote(c)}` : 'NULL')
  const on = t.key.map((k) => `b.${quote(k)} = a.${quote(k)}`).join(' AND ')
  const differs = cols.map((c) => `${col('b', c, beforeCols)} IS NOT ${col('a', c, afterCols)}`).join(' OR ')
  const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n
  const addedSql = `FROM ${quote(after)} a LEFT JOIN ${quote(before)} b ON ${on} WHERE b.${quote(t.key[0])} IS NULL`
  const removedSql = `FROM ${quote(before)} b LEFT JOIN ${quote(after)} a ON ${on} WHERE a.${quote(t.key[0])} IS NULL`
  const changedSql = `FROM ${quote(before)} b JOIN ${quote(after)} a ON ${on} WHERE ${differs}`
  const joined = count(`SELECT count(*) AS n FROM ${quote(before)} b JOIN ${quote(after)} a ON ${on}`)
  const changed = count(`SELECT count(*) AS n ${changedSql}`)
  const pick = (alias: string, have: Set<string>, prefix: string) => cols.map((c) => `${col(alias, c, have)} AS ${quote(prefix + c)}`).join(', ')
  const split = (r: Row, prefix: string) => decode(Object.fromEntries(cols.map((c) => [c, r[prefix + c]])))
  return {
    table,
    added: count(`SELECT count(*) AS n ${addedSql}`),
    removed: count(`SELECT count(*) AS n ${removedSql}`),
    changed,
    unchanged: joined - changed,
    samples: {
      added: (db.prepare(`SELECT a.* ${addedSql} LIMIT ?`).all(samples) as Row[]).map(decode),
      removed: (db.prepare(`SELECT b.* ${removedSql} LIMIT ?`).all(samples) as Row[]).map((r) => decode(r)),
      changed: (db.prepare(`SELECT ${pick('b', beforeCols, 'b_')}, ${pick('a', afterCols, 'a_')} ${changedSql} LIMIT ?`).all(samples) as Row[]).map((r) => ({
        before: split(r, 'b_'),
        after: split(r, 'a_')
      }))
    }
  }
}

/** Shadow versus live, table by table. */
export function diffShadow(db: Database.Database, d: ProjectionDescriptor, samples = 10): RowDiff[] {
  return Object.keys(d.tables).map((table) => diffTables(db, d, table, sqlTableName(d.name, table), sqlTableName(d.name, table, true), samples))
}

function storedTables(schema: string | null): string[] {
  if (!schema) return []
  try {
    return (JSON.parse(schema) as Array<[string, unknown]>).map(([name]) => name)
  } catch {
    return []
  }
}

/**
 * Replaces the live tables with the shadow ones and moves the live checkpoint to the shadow's, in one
 * transaction: a reader sees either the old read model or the new one, never a mix. Renames keep the indexes.
 */
export function promoteShadow(db: Database.Database, d: ProjectionDescriptor, transaction: <T>(fn: () => T) => T): number {
  return transaction(() => {
    const shadow = readCheckpoint(db, checkpointName(d.name, true))
    if (!shadow) throw new RpcError('NotFound', `Projection ${d.name} has no shadow run to promote`)
    const live = readCheckpoint(db, d.name)
    dropTables(db, d.name, [...new Set([...storedTables(live?.schema ?? null), ...Object.keys(d.tables)])])
    for (const table of Object.keys(d.tables)) db.exec(`ALTER TABLE ${quote(sqlTableName(d.name, table, true))} RENAME TO ${quote(sqlTableName(d.name, table))}`)
    writeCheckpoint(db, { projection: d.name, position: shadow.position, status: 'running', error: null, schema: schemaSignature(d) })
    db.prepare('DELETE FROM projection_checkpoints WHERE projection = ?').run(checkpointName(d.name, true))
    return shadow.position
  })
}

export function discardShadow(db: Database.Database, d: ProjectionDescriptor): void {
  const shadow = readCheckpoint(db, checkpointName(d.name, true))
  dropTables(db, d.name, [...new Set([...storedTables(shadow?.schema ?? null), ...Object.keys(d.tables)])], { shadow: true })
  db.prepare('DELETE FROM projection_checkpoints WHERE projection = ?').run(checkpointName(d.name, true))
}
