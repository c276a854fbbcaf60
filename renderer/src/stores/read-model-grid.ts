import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import type { PageRequest, RowsPage, TableDef } from '../../../shared/contract'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useProjectionsStore } from './projections'

/** Rows per request. */
export const PAGE_SIZE = 200
/** Pages held at most (a few thousand rows); pages far from the view are dropped and read again when scrolled back to. */
export const MAX_HELD_PAGES = 12
/** The next page is read when the view comes this close to the last row read so far. */
export const PREFETCH_ROWS = 60

export type Row = Record<string, unknown>
export type Filter = NonNullable<PageRequest['where']>[string]
export type Direction = 'asc' | 'desc'

/** The columns a table can be sorted by: the first of its key and of each index (the engine refuses the others). */
export function sortableColumns(t: TableDef | null | undefined): string[] {
  if (!t) return []
  return [...new Set([t.key[0], ...(t.indexes ?? []).map((i) => i[0])])]
}

function typed(text: string, type: string): { value: string | number } | { error: string } {
  if (type === 'integer' || type === 'real') {
    const n = Number(text)
    if (text === '' || !Number.isFinite(n)) return { error: `"${text}" is not a number` }
    if (type === 'integer' && !Number.isInteger(n)) return { error: `"${text}" is not a whole number` }
    return { value: n }
  }
  return { value: text }
}

/**
 * A column filter as typed: `value` (equals), `=value`, `!=value`, `>v`, `>=v`, `<v`, `<=v`, `a..b` (between,
 * inclusive), `~text` (contains, any case), `a|b|c` (any of), `null` (is empty). Numbers for number columns.
 * Null for a blank filter.
 */
export function parseFilter(input: string, type: string): { filter: Filter } | { error: string } | null {
  const text = input.trim()
  if (text === '') return null
  if (text === 'null') return { filter: null }
  if (text.startsWith('~')) {
    const needle = text.slice(1).trim()
    return needle ? { filter: { contains: needle } } : { error: 'Type what the value contains after ~' }
  }
  const op = /^(>=|<=|!=|>|<|=)\s*(.*)$/.exec(text)
  if (op) {
    const v = typed(op[2].trim(), type)
    if ('error' in v) return v
    const ops: Record<string, string> = { '>=': 'gte', '<=': 'lte', '!=': 'ne', '>': 'gt', '<': 'lt', '=': 'eq' }
    return { filter: { [ops[op[1]]]: v.value } }
  }
  const range = /^(.+?)\.\.(.+)$/.exec(text)
  if (range) {
    const from = typed(range[1].trim(), type)
    const to = typed(range[2].trim(), type)
    if ('error' in from) return from
    if ('error' in to) return to
    return { filter: { gte: from.value, lte: to.value } }
  }
  if (text.includes('|')) {
    const values: Array<string | number> = []
    for (const part of text.split('|').map((p) => p.trim()).filter(Boolean)) {
      const v = typed(part, type)
      if ('error' in v) return v
      values.push(v.value)
    }
    return { filter: { in: values } }
  }
  if (type === 'json') {
    try {
      return { filter: JSON.parse(text) as Filter }
    } catch {
      return { filter: text }
    }
  }
  const v = typed(text, type)
  return 'error' in v ? v : { filter: v.value }
}

/** The event that last wrote a row (every read-model row stores it), as a link into the Streams panel. */
export function rowEvent(row: Row | null | undefined): { stream: string; position: number } | null {
  if (!row) return null
  const stream = row._stream
  const position = row._position
  return typeof stream === 'string' && stream && typeof position === 'number' ? { stream, position } : null
}

/** Which pages to drop so at most `max` stay: the farthest from the page in view first. */
export function pagesToDrop(held: number[], center: number, max = MAX_HELD_PAGES): number[] {
  if (held.length <= max) return []
  return [...held].sort((a, b) => Math.abs(b - center) - Math.abs(a - center) || b - a).slice(0, held.length - max)
}

/**
 * One read-model table in a virtual grid: keyset pages of PAGE_SIZE rows read in order as the view scrolls down
 * (each page starts after the last row of the one before, so a deep page costs an index seek), at most
 * MAX_HELD_PAGES held, sort on indexed columns, filters per column, and the read's lag behind the log.
 */
export const useReadModelGridStore = defineStore('read-model-grid', () => {
  const connection = useConnectionStore()
  const projections = useProjectionsStore()
  const projection = ref<string | null>(null)
  const table = ref<string | null>(null)
  const orderBy = ref<string | null>(null)
  const direction = ref<Direction>('asc')
  /** Filters as typed, by column. */
  const filterText = ref<Record<string, string>>({})
  const columns = ref<RowsPage['columns']>([])
  /** Rows of the pages held, by page number. */
  const held = shallowRef<Map<number, Row[]>>(new Map())
  /** The cursor (`after`) of each page read so far. */
  const cursors = ref<Array<string | null>>([])
  /** How many rows each page read so far had. */
  const lengths = ref<number[]>([])
  /** The cursor of the page after the last one read; null when that was the last page. */
  const frontier = ref<string | null>(null)
  const total = ref<number | null>(null)
  const lag = ref<RowsPage['lag'] | null>(null)
  const loadingPages = ref<number[]>([])
  const error = ref<string | null>(null)
  const view = ref({ first: 0, last: 0 })
  /** Counts reloads (new table, sort or filters): the grid scrolls back to the top. */
  const loads = ref(0)
  /** Bumped by every reload, so answers to an older query are dropped. */
  let generation = 0
  let refreshTimer: ReturnType<typeof setTimeout> | undefined
  let refreshing: Promise<void> | null = null
  let refreshAgain = false

  const descriptor = computed(() => (projection.value ? projections.descriptors[projection.value] ?? null : null))
  const tableDef = computed<TableDef | null>(() => (descriptor.value && table.value ? descriptor.value.tables[table.value] ?? null : null))
  const sortable = computed(() => sortableColumns(tableDef.value))
  const sortColumn = computed(() => orderBy.value ?? tableDef.value?.key[0] ?? null)
  /** The table's own columns (the page also carries the hidden _position and _stream). */
  const shownColumns = computed(() => {
    const fromPage = columns.value.filter((c) => !c.name.startsWith('_'))
    if (fromPage.length) return fromPage
    return Object.entries(tableDef.value?.columns ?? {}).map(([name, type]) => ({ name, type }))
  })
  const typeOf = (column: string) => tableDef.value?.columns[column] ?? columns.value.find((c) => c.name === column)?.type ?? 'text'
  const parsedFilters = computed(() => {
    const where: Record<string, Filter> = {}
    const errors: Record<string, string> = {}
    for (const [column, text] of Object.entries(filterText.value)) {
      const parsed = parseFilter(text, typeOf(column))
      if (parsed === null) continue
      if ('error' in parsed) errors[column] = parsed.error
      else where[column] = parsed.filter
    }
    return { where, errors }
  })
  const filterErrors = computed(() => parsedFilters.value.errors)
  /** The filters the rows shown were read with. */
  const applied = ref<Record<string, Filter>>({})
  /** The sort the rows shown were read with (every page of one read agrees, even if the descriptor arrives meanwhile). */
  const readOrder = ref<string | undefined>(undefined)
  const filtered = computed(() => Object.keys(applied.value).length > 0)
  const reached = computed(() => cursors.value.length)
  const rowCount = computed(() => (reached.value === 0 ? 0 : (reached.value - 1) * PAGE_SIZE + lengths.value[reached.value - 1]))
  const hasMore = computed(() => reached.value > 0 && frontier.value !== null)
  const heldRows = computed(() => [...held.value.values()].reduce((n, rows) => n + rows.length, 0))
  /** The live row count of an unfiltered table (from the projection's status), else the count read with the first page. */
  const statusRows = computed(() => {
    if (!projection.value || !table.value) return null
    return projections.byName[projection.value]?.tables.find((t) => t.name === table.value)?.rows ?? null
  })
  const totalShown = computed(() => (!filtered.value && statusRows.value !== null ? statusRows.value : total.value))
  const loading = computed(() => loadingPages.value.length > 0)

  function rowAt(index: number): Row | null {
    const rows = held.value.get(Math.floor(index / PAGE_SIZE))
    return rows?.[index % PAGE_SIZE] ?? null
  }

  function clear(): void {
    generation++
    held.value = new Map()
    cursors.value = []
    lengths.value = []
    frontier.value = null
    loadingPages.value = []
    total.value = null
  }

  function request(page: number, after: string | null, withTotal: boolean): PageRequest {
    return {
      projection: projection.value!,
      table: table.value!,
      orderBy: readOrder.value,
      direction: direction.value,
      where: applied.value,
      after,
      limit: PAGE_SIZE,
      withTotal
    }
  }

  /** Reads page `page`: one already read (again, from its cursor) or the next one after the last read. */
  async function fetchPage(page: number): Promise<void> {
    if (!projection.value || !table.value || loadingPages.value.includes(page)) return
    const fresh = page === reached.value
    if (!fresh && page > reached.value) return
    if (fresh && page > 0 && frontier.value === null) return
    const after = fresh ? (page === 0 ? null : frontier.value) : cursors.value[page]
    const mine = generation
    loadingPages.value = [...loadingPages.value, page]
    try {
      const result = await connection.rpc().projections.page(request(page, after, page === 0 && fresh))
      if (mine !== generation) return
      columns.value = result.columns
      lag.value = result.lag
      if (result.total !== null) total.value = result.total
      if (fresh) {
        cursors.value = [...cursors.value, after]
        lengths.value = [...lengths.value, result.rows.length]
        frontier.value = result.next
      } else if (page === reached.value - 1) {
        lengths.value = lengths.value.map((n, i) => (i === page ? result.rows.length : n))
        frontier.value = result.next
      } else if (result.next !== null) {
        // Rows came or went: the page after this one now starts where this one ends.
        cursors.value = cursors.value.map((c, i) => (i === page + 1 ? result.next : c))
      }
      const next = new Map(held.value)
      next.set(page, result.rows)
      for (const drop of pagesToDrop([...next.keys()], Math.floor(view.value.first / PAGE_SIZE))) next.delete(drop)
      held.value = next
      error.value = null
    } catch (e) {
      if (mine === generation) error.value = `Could not read ${projection.value}.${table.value}: ${describeError(e)}`
    } finally {
      if (mine === generation) loadingPages.value = loadingPages.value.filter((p) => p !== page)
    }
    // The view may have moved while the page was read.
    if (mine === generation && !error.value) ensure(view.value.first, view.value.last)
  }

  /** The rows first..last are in view: read the pages they are on, and the next page when the view nears the end. */
  function ensure(first: number, last: number): void {
    view.value = { first, last }
    if (reached.value === 0) return
    const from = Math.floor(Math.max(first, 0) / PAGE_SIZE)
    const to = Math.min(Math.floor(Math.max(last, 0) / PAGE_SIZE), reached.value - 1)
    for (let p = from; p <= to; p++) if (!held.value.has(p)) void fetchPage(p)
    if (hasMore.value && last >= rowCount.value - PREFETCH_ROWS) void fetchPage(reached.value)
  }

  /** Reads the table from its first page again (new table, sort or filters). */
  async function reload(): Promise<void> {
    clear()
    loads.value++
    error.value = null
    view.value = { first: 0, last: 0 }
    if (!projection.value || !table.value) return
    applied.value = parsedFilters.value.where
    readOrder.value = sortColumn.value ?? undefined
    await fetchPage(0)
  }

  /** Reads the pages held again (the projection moved on): the rows in view update where they are. */
  async function refresh(): Promise<void> {
    if (refreshing) {
      refreshAgain = true
      return refreshing
    }
    refreshing = (async () => {
      do {
        refreshAgain = false
        if (reached.value === 0) {
          await reload()
          continue
        }
        // The pages held are read again in order, so each one's cursor follows from the one before.
        const pages = [...held.value.keys()].sort((a, b) => a - b)
        const mine = generation
        for (const p of pages) {
          if (mine !== generation) break
          await refetch(p)
        }
      } while (refreshAgain)
    })().finally(() => (refreshing = null))
    return refreshing
  }

  async function refetch(page: number): Promise<void> {
    // fetchPage skips a page being read; read it afresh here.
    loadingPages.value = loadingPages.value.filter((p) => p !== page)
    await fetchPage(page)
  }

  function scheduleRefresh(delayMs = 250): void {
    if (refreshTimer !== undefined) return
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined
      void refresh()
    }, delayMs)
  }

  async function choose(nextProjection: string | null, nextTable: string | null): Promise<void> {
    if (nextProjection === projection.value && nextTable === table.value && reached.value > 0) return
    const sameTable = nextProjection === projection.value && nextTable === table.value
    projection.value = nextProjection
    table.value = nextTable
    if (!sameTable) {
      orderBy.value = null
      direction.value = 'asc'
      filterText.value = {}
      columns.value = []
      lag.value = null
    }
    // The descriptor (sortable columns, key) arrives beside the first page.
    if (nextProjection) void projections.describe(nextProjection)
    await reload()
  }

  /** Sorts by a column (again: the other way); only the columns an index or the key starts with. */
  async function sortBy(column: string): Promise<boolean> {
    if (!sortable.value.includes(column)) {
      error.value = `${column} is not indexed, so the table cannot be sorted by it: sort by ${sortable.value.join(', ')}`
      return false
    }
    if (sortColumn.value === column) direction.value = direction.value === 'asc' ? 'desc' : 'asc'
    else {
      orderBy.value = column
      direction.value = 'asc'
    }
    await reload()
    return true
  }

  /** Sets a column's filter as typed; the rows are read again when the filters that parse changed. */
  async function setFilter(column: string, text: string): Promise<void> {
    filterText.value = { ...filterText.value, [column]: text }
    if (JSON.stringify(parsedFilters.value.where) !== JSON.stringify(applied.value)) await reload()
  }

  async function clearFilters(): Promise<void> {
    filterText.value = {}
    if (filtered.value) await reload()
  }

  // The projection moved on, was rebuilt, reset or promoted: read the rows in view again (at most a few times a second).
  watch(
    () => {
      const s = projection.value ? projections.byName[projection.value] : undefined
      return s ? `${s.position}|${s.state}|${s.job?.kind ?? ''}|${s.shadow ? 's' : ''}|${statusRows.value}` : ''
    },
    (key, before) => {
      if (key && before && reached.value > 0) scheduleRefresh()
    }
  )

  return {
    projection, table, orderBy, direction, filterText, columns, held, cursors, lengths, frontier, total, lag, loadingPages, error, view, loads, descriptor, tableDef,
    sortable, sortColumn, shownColumns, filterErrors, applied, filtered, reached, rowCount, hasMore, heldRows, statusRows, totalShown, loading,
    rowAt, ensure, reload, refresh, choose, sortBy, setFilter, clearFilters
  }
})
