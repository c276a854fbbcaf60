import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { RowsPage } from '../../../shared/contract'
import { asSchema, cleanValue, initialValue, validate, type FieldIssue, type JsonSchema } from '../schema-form'
import { commandFailureOf, parseCommandData, type CommandFailure, type FormMode } from './commands'
import { useConnectionStore } from './connection'
import { useProjectionsStore } from './projections'

/** Rows per request of a query's results; `more()` reads the next ones. */
export const QUERY_PAGE = 200
/** Results kept at most (the grid is for reading whole tables). */
export const QUERY_MAX_ROWS = 2000

/** `N events behind the log, position P of head H`, or `up to date with the log (position P)`. */
export function lagText(lag: RowsPage['lag'] | null | undefined): string {
  if (!lag) return ''
  const n = (v: number) => v.toLocaleString('en')
  if (lag.lagEvents === 0) return `Up to date with the log: position ${n(lag.position)} of head ${n(lag.headPosition)}`
  return `${n(lag.lagEvents)} ${lag.lagEvents === 1 ? 'event' : 'events'} behind the log: position ${n(lag.position)} of head ${n(lag.headPosition)}`
}

/** Named queries of a projection: the input form made from the query's schema, the results and how far behind the log they are. */
export const useReadModelQueryStore = defineStore('read-model-query', () => {
  const connection = useConnectionStore()
  const projections = useProjectionsStore()
  const projection = ref<string | null>(null)
  const queryName = ref<string | null>(null)
  const mode = ref<FormMode>('form')
  const data = ref<Record<string, unknown>>({})
  const jsonText = ref('{}')
  const attempted = ref(false)
  const running = ref(false)
  const result = ref<RowsPage | null>(null)
  /** The query and input the results are of. */
  const ran = ref<{ projection: string; query: string; input: unknown } | null>(null)
  const failure = ref<CommandFailure | null>(null)
  const loadingMore = ref(false)

  const descriptor = computed(() => (projection.value ? projections.descriptors[projection.value] ?? null : null))
  const queries = computed(() => descriptor.value?.queries ?? [])
  const query = computed(() => queries.value.find((q) => q.name === queryName.value) ?? null)
  const schema = computed<JsonSchema>(() => asSchema(query.value?.schema ?? { type: 'object', properties: {} }))
  const jsonCheck = computed(() => parseCommandData(jsonText.value))
  const input = computed<Record<string, unknown> | null>(() => {
    if (mode.value === 'json') return jsonCheck.value.ok ? jsonCheck.value.value : null
    return cleanValue(schema.value, data.value) as Record<string, unknown>
  })
  const issues = computed<FieldIssue[]>(() => (input.value ? validate(schema.value, input.value) : []))
  /** Issue messages by field: the form's own after a run was tried, then the engine's. */
  const fieldIssues = computed<Record<string, string>>(() => {
    const out: Record<string, string> = {}
    if (attempted.value) for (const i of issues.value) if (!(i.path in out)) out[i.path] = i.message
    for (const i of failure.value?.issues ?? []) out[i.path] = i.message
    return out
  })
  const blocker = computed<string | null>(() => {
    if (!projection.value || !query.value) return 'Choose a query'
    if (mode.value === 'json' && !jsonCheck.value.ok) return jsonCheck.value.error
    if (mode.value === 'form' && issues.value.length) return `Fix ${issues.value.length === 1 ? '1 field' : `${issues.value.length} fields`} first`
    return null
  })

  async function setProjection(name: string | null): Promise<void> {
    if (name === projection.value) return
    projection.value = name
    queryName.value = null
    result.value = null
    failure.value = null
    if (name) await projections.describe(name)
    const first = queries.value[0]
    if (first) select(first.name)
  }

  function select(name: string): void {
    queryName.value = name
    data.value = (initialValue(schema.value) as Record<string, unknown> | undefined) ?? {}
    jsonText.value = JSON.stringify(data.value, null, 2)
    attempted.value = false
    failure.value = null
  }

  function setData(next: Record<string, unknown>): void {
    data.value = next
  }

  function setMode(next: FormMode): boolean {
    if (next === mode.value) return true
    if (next === 'json') jsonText.value = JSON.stringify(cleanValue(schema.value, data.value), null, 2)
    else {
      if (!jsonCheck.value.ok) return false
      data.value = jsonCheck.value.value
    }
    mode.value = next
    return true
  }

  async function run(): Promise<void> {
    attempted.value = true
    if (blocker.value !== null || running.value || !projection.value || !query.value || !input.value) return
    const call = { projection: projection.value, query: query.value.name, input: input.value }
    running.value = true
    failure.value = null
    try {
      result.value = await connection.rpc().projections.runQuery({ ...call, limit: QUERY_PAGE })
      ran.value = call
    } catch (e) {
      failure.value = commandFailureOf(e)
      result.value = null
      ran.value = null
    } finally {
      running.value = false
    }
  }

  /** Reads the next results (keyset: after the last row shown). */
  async function more(): Promise<void> {
    const known = result.value
    if (!known?.next || !ran.value || loadingMore.value || known.rows.length >= QUERY_MAX_ROWS) return
    loadingMore.value = true
    try {
      const page = await connection.rpc().projections.runQuery({ ...ran.value, after: known.next, limit: QUERY_PAGE })
      if (result.value === known) result.value = { ...page, rows: [...known.rows, ...page.rows], total: known.total }
    } catch (e) {
      failure.value = commandFailureOf(e)
    } finally {
      loadingMore.value = false
    }
  }

  return {
    projection, queryName, mode, data, jsonText, attempted, running, result, ran, failure, loadingMore, descriptor, queries, query, schema, jsonCheck, input,
    issues, fieldIssues, blocker, setProjection, select, setData, setMode, run, more
  }
})
