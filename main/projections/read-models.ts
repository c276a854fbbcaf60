import type Database from 'better-sqlite3'
import { z } from 'zod'
import { pageRequest, type ProjectionDescriptor, type RowsPage } from '../../shared/contract/projections'
import { RpcError } from '../../shared/rpc/errors'
import { decodeRow, quote, sqlTableName, type Row } from './tables'

export type PageInput = z.output<typeof pageRequest>

function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url')
}

function decodeCursor(cursor: string, length: number): unknown[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(values) && values.length === length) return values
  } catch {
    // fall through
  }
  throw new RpcError('InvalidInput', 'The page cursor (after) is not one this table gave out', { field: 'after' })
}

/**
 * A page of a read-model table with keyset paging: rows are ordered by the sort column then the key, and the next
 * page starts after the last row's values, so a page costs an index seek however deep it is and rows inserted
 * meanwhile never shift the pages (each row is returned once). Sorting is allowed on the first column of the key
 * or of an index. @debt rows whose sort column is NULL sort first and are skipped by cursors that pass them.
 */
export function readPage(db: Database.Database, d: ProjectionDescriptor, input: PageInput, lag: RowsPage['lag']): RowsPage {
  const t = Object.hasOwn(d.tables, input.table) ? d.tables[input.table] : undefined
  if (!t) throw new RpcError('NotFound', `Projection ${d.name} has no table ${input.table}`, { table: input.table })
  const sortable = [t.key[0], ...(t.indexes ?? []).map((i) => i[0])]
  const orderBy = input.orderBy ?? t.key[0]
  if (!sortable.includes(orderBy)) {
    throw new RpcError('InvalidInput', `${d.name}.${input.table} can be sorted by ${[...new Set(sortable)].join(', ')} (the key or an index), not ${orderBy}`, { field: 'orderBy' })
  }
  const sortCols = [orderBy, ...t.key.filter((k) => k !== orderBy)]
  const where: string[] = []
  const params: unknown[] = []
  for (const [col, filter] of Object.entries(input.where)) {
    if (!Object.hasOwn(t.columns, col)) throw new RpcError('InvalidInput', `${d.name}.${input.table} has no column ${col}`, { field: `where.${col}` })
    const c = quote(col)
    const value = (v: unknown) => (t.columns[col] === 'json' ? JSON.stringify(v) : typeof v === 'boolean' ? (v ? 1 : 0) : v)
    if (filter === null) where.push(`${c} IS NULL`)
    else if (typeof filter !== 'object') {
      where.push(`${c} = ?`)
      params.push(value(filter))
    } else {
      const ops: Array<[keyof typeof filter, string]> = [['eq', '='], ['ne', '<>'], ['gt', '>'], ['gte', '>='], ['lt', '<'], ['lte', '<=']]
      for (const [op, sql] of ops) {
        if (filter[op] === undefined) continue
        where.push(`${c} ${sql} ?`)
        params.push(value(filter[op]))
      }
      if (filter.contains !== undefined) {
        where.push(`instr(lower(${c}), lower(?)) > 0`)
        params.push(filter.contains)
      }
      if (filter.in !== undefined) {
        where.push(filter.in.length ? `${c} IN (${filter.in.map(() => '?').join(', ')})` : '0')
        params.push(...filter.in)
      }
    }
  }
  const table = quote(sqlTableName(d.name, input.table, input.shadow))
  const filtered = [...where]
  const dir = input.direction === 'desc' ? 'DESC' : 'ASC'
  const pageParams = [...params]
  if (input.after) {
    filtered.push(`(${sortCols.map(quote).join(', ')}) ${dir === 'ASC' ? '>' : '<'} (${sortCols.map(() => '?').join(', ')})`)
    pageParams.push(...decodeCursor(input.after, sortCols.length))
  }
  const clause = (parts: string[]) => (parts.length ? `WHERE ${parts.join(' AND ')}` : '')
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(sqlTableName(d.name, input.table, input.shadow))
  const columns = [...Object.entries(t.columns).map(([name, type]) => ({ name, type })), { name: '_position', type: 'integer' }, { name: '_stream', type: 'text' }]
  if (!exists) return { columns, rows: [], next: null, total: input.withTotal ? 0 : null, lag }
  const raw = db
    .prepare(`SELECT * FROM ${table} ${clause(filtered)} ORDER BY ${sortCols.map((c) => `${quote(c)} ${dir}`).join(', ')} LIMIT ?`)
    .all(...pageParams, input.limit + 1) as Row[]
  const more = raw.length > input.limit
  const rows = raw.slice(0, input.limit)
  const last = rows[rows.length - 1]
  const total = input.withTotal ? (db.prepare(`SELECT count(*) AS n FROM ${table} ${clause(where)}`).get(...params) as { n: number }).n : null
  return { columns, rows: rows.map((r) => decodeRow(t, r, true)), next: more && last ? encodeCursor(sortCols.map((c) => last[c])) : null, total, lag }
}
