import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { BlameEntry, EventRef, ReplayPoint, ReplayStep } from '../../../shared/contract'
import type { Disposer } from '../../../shared/rpc/protocol'
import { blameOf, indexBlame, type FieldPath } from '../json-tree'
import { useConnectionStore } from './connection'
import { describeError } from './errors'

/** Steps are read in windows of this many events. */
export const STEP_WINDOW = 200
/** The scrubber settles this long before the state at the point and its blame are asked for. */
export const SETTLE_DELAY_MS = 150

/** Steps from one `replay.steps` call: versions `from` up to (not including) `next`, or to the end. */
export interface StepWindow {
  from: number
  steps: ReplayStep[]
  next: number | null
}

/** What `replay.stateAt` answered for a point. */
export interface ReplayPointState {
  version: number
  state: unknown
  event: EventRef | null
  snapshotVersion: number | null
  eventsFolded: number
}

export type JumpKind = 'version' | 'position' | 'time'

export interface Candidate {
  name: string
  streamPrefix: string
}

/** Reads what a person typed into the jump box as a replay point, or says why it is not one. */
export function replayPointOf(kind: JumpKind, text: string): { ok: true; at: ReplayPoint } | { ok: false; error: string } {
  const trimmed = text.trim()
  if (kind === 'time') {
    const ms = Date.parse(trimmed)
    if (!trimmed || Number.isNaN(ms)) return { ok: false, error: 'Enter a time as ISO 8601, e.g. 2025-03-01T14:02:09Z' }
    return { ok: true, at: { time: new Date(ms).toISOString() } }
  }
  if (!/^\d+$/.test(trimmed)) return { ok: false, error: `Enter a ${kind} as a whole number (0 or more)` }
  const n = Number(trimmed)
  return { ok: true, at: kind === 'version' ? { version: n } : { position: n } }
}

/** The Replay panel's stream: its decider, the steps in windows, the scrubbed version, the state there and its blame. */
export const useReplayStore = defineStore('replay', () => {
  const connection = useConnectionStore()
  const streamId = ref<string | null>(null)
  /** The decider that replays the stream: the one chosen, else the engine's. */
  const decider = ref<string | null>(null)
  /** The decider the engine would pick for the stream, and the ones that could be chosen instead. */
  const suggested = ref<string | null>(null)
  const candidates = ref<Candidate[]>([])
  const chosen = ref<string | null>(null)
  const streamVersion = ref(0)
  const windows = ref<StepWindow[]>([])
  /** The scrubbed version (0 = before the first event). */
  const version = ref(0)
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** The state at the settled version, as `stateAt` rehydrated it (snapshot facts included). */
  const point = ref<ReplayPointState | null>(null)
  const pointError = ref<string | null>(null)
  const blameFields = ref<BlameEntry[]>([])
  const blameVersion = ref<number | null>(null)
  const jumpKind = ref<JumpKind>('version')
  const jumpText = ref('')
  const jumpError = ref<string | null>(null)
  /** Where the last jump stopped. */
  const jumped = ref<{ version: number; event: EventRef | null } | null>(null)
  // Answers for another stream, decider or version than the one on screen are dropped.
  let generation = 0
  let settleTimer: ReturnType<typeof setTimeout> | undefined
  const pending = new Map<number, Promise<StepWindow | null>>()
  const pointCache = new Map<number, ReplayPointState>()
  const blameCache = new Map<number, BlameEntry[]>()
  let stopLive: Disposer | null = null

  const timeline = computed<StepWindow | null>(() => windowFor(version.value) ?? windows.value[0] ?? null)
  const currentStep = computed<ReplayStep | null>(() => stepAt(version.value))
  const currentEvent = computed<EventRef | null>(() => {
    const e = currentStep.value?.event
    if (e) return { position: e.position, version: e.version, type: e.type, id: e.id, recordedAt: e.recordedAt }
    return point.value?.version === version.value ? point.value.event : null
  })
  /** The state after the scrubbed event: from its step when read, else from stateAt. */
  const state = computed<unknown>(() => {
    if (currentStep.value) return currentStep.value.after
    if (version.value === 0) {
      const first = stepAt(1)
      if (first) return first.before
    }
    return point.value?.version === version.value ? point.value.state : undefined
  })
  const changes = computed(() => currentStep.value?.changes ?? [])
  const blameIndex = computed(() => indexBlame(blameVersion.value === version.value ? blameFields.value : []))

  function windowFor(v: number): StepWindow | null {
    return windows.value.find((w) => v >= w.from && v < (w.next ?? streamVersion.value + 1)) ?? null
  }

  function stepAt(v: number): ReplayStep | null {
    if (v < 1) return null
    return windowFor(v)?.steps.find((s) => s.event.version === v) ?? null
  }

  function reset(): void {
    generation++
    clearTimeout(settleTimer)
    windows.value = []
    pending.clear()
    pointCache.clear()
    blameCache.clear()
    point.value = null
    pointError.value = null
    blameFields.value = []
    blameVersion.value = null
    jumped.value = null
    jumpError.value = null
    error.value = null
  }

  /** Opens a stream at a version (its last one when none is given). */
  async function openStream(id: string, at?: number): Promise<void> {
    streamId.value = id
    chosen.value = null
    decider.value = null
    suggested.value = null
    candidates.value = []
    streamVersion.value = 0
    version.value = 0
    reset()
    const mine = generation
    loading.value = true
    try {
      const found = await connection.rpc().replay.deciderFor({ streamId: id })
      if (mine !== generation) return
      suggested.value = found.decider
      candidates.value = found.candidates
      decider.value = found.decider
    } catch (e) {
      if (mine === generation) error.value = `Could not find a decider for "${id}": ${describeError(e)}`
    }
    if (mine !== generation) return
    await start(mine, at)
  }

  /** Replays with another decider than the engine's choice (null: the engine's again). */
  async function chooseDecider(name: string | null): Promise<void> {
    if (streamId.value === null) return
    chosen.value = name
    decider.value = name ?? suggested.value
    const at = version.value
    reset()
    await start(generation, at)
  }

  async function start(mine: number, at: number | undefined): Promise<void> {
    loading.value = true
    try {
      // The window that holds the wanted version; without one, the first window tells where the stream ends.
      const first = await loadWindow(at === undefined ? 1 : windowStart(at))
      if (mine !== generation || !first) return
      const target = at === undefined ? streamVersion.value : at
      await scrubTo(target)
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  function windowStart(v: number): number {
    return Math.floor(Math.max(v - 1, 0) / STEP_WINDOW) * STEP_WINDOW + 1
  }

  /** Reads the window of steps from a version (once, unless `again`; a second call waits for the first). */
  function loadWindow(from: number, again = false): Promise<StepWindow | null> {
    const known = windows.value.find((w) => w.from === from)
    if (known && !again) return Promise.resolve(known)
    const running = pending.get(from)
    if (running) return running
    const id = streamId.value
    if (id === null) return Promise.resolve(null)
    const mine = generation
    const request = (async () => {
      try {
        const answer = await connection.rpc().replay.steps({ streamId: id, decider: decider.value ?? undefined, fromVersion: from, limit: STEP_WINDOW })
        if (mine !== generation) return null
        const window: StepWindow = { from, steps: answer.steps, next: answer.next }
        decider.value = answer.decider
        streamVersion.value = answer.streamVersion
        windows.value = [...windows.value.filter((w) => w.from !== from), window].sort((a, b) => a.from - b.from)
        return window
      } catch (e) {
        if (mine === generation) error.value = `Could not replay "${id}": ${describeError(e)}`
        return null
      } finally {
        if (mine === generation) pending.delete(from)
      }
    })()
    pending.set(from, request)
    return request
  }

  /** Moves the scrubber: the step shows at once, the state at the point and its blame once it settles. */
  async function scrubTo(target: number): Promise<void> {
    if (streamId.value === null) return
    const v = Math.min(Math.max(Math.round(target), 0), streamVersion.value)
    version.value = v
    jumpError.value = null
    clearTimeout(settleTimer)
    settleTimer = setTimeout(() => void inspect(), SETTLE_DELAY_MS)
    if (v > 0 && !windowFor(v)) await loadWindow(windowStart(v))
  }

  function step(delta: number): Promise<void> {
    return scrubTo(version.value + delta)
  }

  /** Asks for the state at the scrubbed version (snapshot facts) and which event set each field there. */
  async function inspect(): Promise<void> {
    const id = streamId.value
    if (id === null) return
    const v = version.value
    const mine = generation
    const input = { streamId: id, decider: decider.value ?? undefined, at: { version: v } }
    const rpc = connection.rpc().replay
    const cachedPoint = pointCache.get(v)
    const cachedBlame = blameCache.get(v)
    const [p, b] = await Promise.allSettled([cachedPoint ?? rpc.stateAt(input), cachedBlame ?? rpc.blame(input).then((r) => r.fields)])
    if (mine !== generation || v !== version.value) return
    if (p.status === 'fulfilled') {
      const r = p.value
      const at: ReplayPointState = { version: r.version, state: r.state, event: r.event, snapshotVersion: r.snapshotVersion, eventsFolded: r.eventsFolded }
      pointCache.set(v, at)
      point.value = at
      pointError.value = null
    } else pointError.value = `Could not rehydrate version ${v}: ${describeError(p.reason)}`
    if (b.status === 'fulfilled') {
      blameCache.set(v, b.value)
      blameFields.value = b.value
      blameVersion.value = v
    } else if (!pointError.value) pointError.value = `Could not tell which events set the fields: ${describeError(b.reason)}`
  }

  /** Jumps to a version, global position or time: the engine says which version that is. */
  async function jump(): Promise<void> {
    const id = streamId.value
    if (id === null) return
    const parsed = replayPointOf(jumpKind.value, jumpText.value)
    if (!parsed.ok) {
      jumpError.value = parsed.error
      return
    }
    const mine = generation
    try {
      const r = await connection.rpc().replay.stateAt({ streamId: id, decider: decider.value ?? undefined, at: parsed.at })
      if (mine !== generation) return
      const at: ReplayPointState = { version: r.version, state: r.state, event: r.event, snapshotVersion: r.snapshotVersion, eventsFolded: r.eventsFolded }
      pointCache.set(r.version, at)
      streamVersion.value = Math.max(streamVersion.value, r.streamVersion)
      await scrubTo(r.version)
      jumped.value = { version: r.version, event: r.event }
    } catch (e) {
      if (mine === generation) jumpError.value = `Could not jump there: ${describeError(e)}`
    }
  }

  /** The event that set a field of the state on screen (for an object, the newest one below it); undefined until known. */
  function blameAt(path: FieldPath): EventRef | null | undefined {
    if (blameVersion.value !== version.value) return undefined
    return blameOf(blameIndex.value, path)
  }

  /** Moves the scrubber to the event that set a field. */
  async function jumpToBlame(path: FieldPath): Promise<void> {
    const event = blameAt(path)
    if (event) await scrubTo(event.version)
  }

  /** Reads the end of the stream again when it gets new events. */
  function open(): void {
    close()
    try {
      stopLive = connection.rpc().store.on('appended', (notice) => {
        if (notice.streamId !== streamId.value) return
        const last = windows.value.find((w) => w.next === null)
        // The old window stays on screen until the new one is read.
        if (last) void loadWindow(last.from, true)
      })
    } catch (e) {
      error.value = describeError(e)
    }
  }

  function close(): void {
    stopLive?.()
    stopLive = null
    clearTimeout(settleTimer)
  }

  function closeStream(): void {
    streamId.value = null
    decider.value = null
    candidates.value = []
    streamVersion.value = 0
    version.value = 0
    reset()
  }

  return {
    streamId,
    decider,
    suggested,
    candidates,
    chosen,
    streamVersion,
    windows,
    version,
    loading,
    error,
    point,
    pointError,
    blameFields,
    blameVersion,
    jumpKind,
    jumpText,
    jumpError,
    jumped,
    timeline,
    currentStep,
    currentEvent,
    state,
    changes,
    blameIndex,
    openStream,
    chooseDecider,
    loadWindow,
    scrubTo,
    step,
    inspect,
    jump,
    blameAt,
    jumpToBlame,
    open,
    close,
    closeStream
  }
})
