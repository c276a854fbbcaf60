import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { CommandOutcome, DeciderInfo, SentCommand } from '../../../shared/contract'
import { isErrorShape } from '../../../shared/rpc/errors'
import type { Disposer } from '../../../shared/rpc/protocol'
import { asSchema, cleanValue, initialValue, validate, valueAt, type FieldIssue, type JsonSchema } from '../schema-form'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useWorkspaceStore } from './workspace'

export type FormMode = 'form' | 'json'

/** Why a command was not handled: the engine's code and message, with the field issues or the place in user code. */
export interface CommandFailure {
  code: string
  message: string
  issues: FieldIssue[]
  /** Where user code failed (UserCodeFailed, Timeout): file, line and column when the engine knows them. */
  location: { file: string; line: number | null; column: number | null } | null
}

/** The facts of an error the engine answered a command with. */
export function commandFailureOf(error: unknown): CommandFailure {
  if (!isErrorShape(error)) return { code: 'Internal', message: describeError(error), issues: [], location: null }
  const details = (typeof error.details === 'object' && error.details !== null ? error.details : {}) as Record<string, unknown>
  const issues = Array.isArray(details.issues)
    ? details.issues
        .filter((i): i is { path: unknown; message: unknown } => typeof i === 'object' && i !== null)
        .map((i) => ({ path: i.path === '(root)' ? '' : String(i.path ?? ''), message: String(i.message ?? '') }))
    : []
  const location =
    typeof details.file === 'string' && details.file
      ? { file: details.file, line: typeof details.line === 'number' ? details.line : null, column: typeof details.column === 'number' ? details.column : null }
      : null
  return { code: error.code, message: error.message, issues, location }
}

/** Parses the JSON editor's text as command data. */
export function parseCommandData(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'The data must be a JSON object ({...})' }
  return { ok: true, value: value as Record<string, unknown> }
}

/** Newest first, one entry per command id. */
export function mergeHistory(known: SentCommand[], incoming: SentCommand[]): SentCommand[] {
  const byId = new Map<string, SentCommand>()
  for (const c of [...known, ...incoming]) byId.set(c.commandId, c)
  return [...byId.values()].sort((a, b) => b.sentAt - a.sentAt)
}

/** The Commands panel: deciders and their schemas, the command form, sending, the outcome and the history. */
export const useCommandsStore = defineStore('commands', () => {
  const connection = useConnectionStore()
  const workspace = useWorkspaceStore()
  const deciders = ref<DeciderInfo[]>([])
  const loading = ref(false)
  const loadError = ref<string | null>(null)
  const deciderName = ref<string | null>(null)
  const commandName = ref<string | null>(null)
  const mode = ref<FormMode>('form')
  const data = ref<Record<string, unknown>>({})
  const jsonText = ref('{}')
  const touched = ref<string[]>([])
  /** A send was tried: every issue shows, not only those of fields already typed in. */
  const attempted = ref(false)
  const idempotencyKey = ref('')
  const correlationId = ref('')
  const sending = ref(false)
  const outcome = ref<CommandOutcome | null>(null)
  const failure = ref<CommandFailure | null>(null)
  const history = ref<SentCommand[]>([])
  const historyError = ref<string | null>(null)
  let stops: Disposer[] = []
  let knownRevision: string | null = null

  const decider = computed(() => deciders.value.find((d) => d.name === deciderName.value) ?? null)
  const command = computed(() => decider.value?.commands.find((c) => c.name === commandName.value) ?? null)
  const schema = computed<JsonSchema>(() => asSchema(command.value?.schema))
  const jsonCheck = computed(() => parseCommandData(jsonText.value))
  /** What Send sends: the form's data without blank optional fields, or the JSON as typed. */
  const payload = computed<Record<string, unknown> | null>(() => {
    if (mode.value === 'json') return jsonCheck.value.ok ? jsonCheck.value.value : null
    return cleanValue(schema.value, data.value) as Record<string, unknown>
  })
  const issues = computed<FieldIssue[]>(() => (payload.value ? validate(schema.value, payload.value) : []))
  /** The engine's issues with the data last sent. */
  const sentIssues = ref<FieldIssue[]>([])
  let sentPayload: unknown = null
  /** The engine's issues whose field still holds what was sent (an edited field drops its issue). */
  const serverIssues = computed<FieldIssue[]>(() =>
    sentIssues.value.filter((i) => JSON.stringify(valueAt(payload.value, i.path)) === JSON.stringify(valueAt(sentPayload, i.path)))
  )

  /** Issue messages by field path, as the form shows them: typed-in fields at once, all after a send was tried. */
  const fieldIssues = computed<Record<string, string>>(() => {
    const out: Record<string, string> = {}
    const shown = (path: string) => attempted.value || touched.value.some((t) => path === t || path.startsWith(`${t}.`) || path.startsWith(`${t}[`))
    for (const i of issues.value) if (shown(i.path) && !(i.path in out)) out[i.path] = i.message
    for (const i of serverIssues.value) out[i.path] = i.message
    return out
  })

  /** Why Send would not send yet, or null. */
  const blocker = computed<string | null>(() => {
    if (!decider.value || !command.value) return 'Choose a command'
    if (mode.value === 'json' && !jsonCheck.value.ok) return jsonCheck.value.error
    // The form holds back data it knows is wrong; the JSON editor sends it, so the engine's answer can be seen.
    if (mode.value === 'form' && issues.value.length) return `Fix ${issues.value.length === 1 ? '1 field' : `${issues.value.length} fields`} first`
    return null
  })

  function select(deciderId: string, commandId: string, values?: Record<string, unknown>): void {
    deciderName.value = deciderId
    commandName.value = commandId
    data.value = values ? (JSON.parse(JSON.stringify(values)) as Record<string, unknown>) : ((initialValue(schema.value) as Record<string, unknown> | undefined) ?? {})
    jsonText.value = JSON.stringify(data.value, null, 2)
    touched.value = []
    attempted.value = false
    sentIssues.value = []
  }

  function setData(next: Record<string, unknown>): void {
    data.value = next
  }

  function touch(path: string): void {
    if (!touched.value.includes(path)) touched.value = [...touched.value, path]
  }

  /** Switches between the form and the JSON editor, carrying the data across. */
  function setMode(next: FormMode): boolean {
    if (next === mode.value) return true
    if (next === 'json') {
      jsonText.value = JSON.stringify(cleanValue(schema.value, data.value), null, 2)
    } else {
      const parsed = jsonCheck.value
      if (!parsed.ok) return false
      data.value = parsed.value
      // What was typed as JSON counts as typed in: its issues show at once.
      touched.value = Object.keys(parsed.value)
    }
    mode.value = next
    return true
  }

  async function send(): Promise<void> {
    attempted.value = true
    if (blocker.value !== null || sending.value || !payload.value || !decider.value || !command.value) return
    const input = {
      decider: decider.value.name,
      command: command.value.name,
      data: payload.value,
      ...(correlationId.value.trim() ? { correlationId: correlationId.value.trim() } : {}),
      ...(idempotencyKey.value.trim() ? { idempotencyKey: idempotencyKey.value.trim() } : {})
    }
    sending.value = true
    outcome.value = null
    failure.value = null
    sentIssues.value = []
    sentPayload = JSON.parse(JSON.stringify(input.data)) as unknown
    try {
      outcome.value = await connection.rpc().commands.send(input)
    } catch (e) {
      failure.value = commandFailureOf(e)
      sentIssues.value = failure.value.code === 'InvalidInput' ? failure.value.issues : []
    } finally {
      sending.value = false
    }
  }

  /** Puts a command from the history back into the form. */
  function resend(entry: SentCommand): void {
    const known = deciders.value.find((d) => d.name === entry.decider)?.commands.some((c) => c.name === entry.command)
    if (!known) return
    select(entry.decider, entry.command, entry.data)
    if (mode.value === 'json') jsonText.value = JSON.stringify(entry.data, null, 2)
  }

  async function loadDeciders(): Promise<void> {
    loading.value = true
    loadError.value = null
    try {
      deciders.value = await connection.rpc().commands.deciders()
      // Keep the chosen command when it still exists (its schema may have changed); otherwise choose none.
      if (!command.value) {
        deciderName.value = null
        commandName.value = null
      }
    } catch (e) {
      loadError.value = `Could not list the deciders: ${describeError(e)}`
    } finally {
      loading.value = false
    }
  }

  async function loadHistory(): Promise<void> {
    try {
      history.value = mergeHistory([], await connection.rpc().commands.history())
      historyError.value = null
    } catch (e) {
      historyError.value = `Could not read the history: ${describeError(e)}`
    }
  }

  /** Lists deciders and history, and follows sent commands and code changes until close(). */
  async function open(): Promise<void> {
    close()
    try {
      const rpc = connection.rpc()
      stops = [rpc.commands.on('sent', (entry) => (history.value = mergeHistory(history.value, [entry])))]
    } catch (e) {
      loadError.value = describeError(e)
      return
    }
    knownRevision = revisionKey()
    await Promise.all([loadDeciders(), loadHistory()])
  }

  function close(): void {
    for (const stop of stops) stop()
    stops = []
  }

  function revisionKey(): string | null {
    return workspace.state ? `${workspace.state.path}#${workspace.state.revision}` : null
  }

  // New code, trust or another workspace: the deciders (and, for another workspace, the history) change.
  watch(
    () => revisionKey(),
    (key, before) => {
      if (stops.length === 0 || key === knownRevision) return
      const switched = before?.split('#')[0] !== key?.split('#')[0]
      knownRevision = key
      if (switched) {
        outcome.value = null
        failure.value = null
        history.value = []
        void loadHistory()
      }
      void loadDeciders()
    }
  )

  return {
    deciders, loading, loadError, deciderName, commandName, decider, command, schema, mode, data, jsonText, jsonCheck, touched, attempted,
    idempotencyKey, correlationId, sending, outcome, failure, history, historyError, payload, issues, serverIssues, fieldIssues, blocker,
    select, setData, touch, setMode, send, resend, loadDeciders, loadHistory, open, close
  }
})
