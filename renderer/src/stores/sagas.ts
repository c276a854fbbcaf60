import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import type { SagaDescriptor, SagaFault, SagaInstance, SagaProblem, SagaStatus } from '../../../shared/contract'
import type { RecordedEvent } from '../../../shared/model/events'
import type { Disposer } from '../../../shared/rpc/protocol'
import { definitionGraph, instanceOverlay } from '../saga-graph'
import { clockAdvanceFor, demoOrder, eventsByCommand, timelineEntries } from '../saga-timeline'
import type { WorkbenchClient } from '../rpc'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useWorkspaceStore } from './workspace'

export const STATUSES: SagaStatus[] = ['running', 'completed', 'compensating', 'compensated', 'parked']
/** How many instances the list asks for. */
export const INSTANCE_LIMIT = 200
/** Instance changes come in bursts (a step is several events): the list and counts are read again once they settle. */
export const RELOAD_DELAY_MS = 250
/** Pages of a correlation id's events read to link a step's commands to what they produced. */
const PRODUCED_PAGES = 3

export type FaultKind = SagaFault['kind']
export interface FaultChoice {
  step: string
  kind: FaultKind
}

export const faultLabels: Record<FaultKind, string> = {
  reject: 'rejected',
  timeout: 'timeout (no answer)',
  'fail-compensation': 'undo refused'
}

/** How many times to arm a fault so that it holds for every attempt of the step (the first and each retry). */
export function armCount(fault: FaultChoice, saga: SagaDescriptor, everyAttempt: boolean): number {
  if (fault.kind === 'fail-compensation' || !everyAttempt) return 1
  return 1 + (saga.steps.find((s) => s.name === fault.step)?.retries.max ?? 0)
}

/** The fault a new demo run starts with: the first step that can fail by an event of its own (a payment declined), rejected. */
export function defaultFault(saga: SagaDescriptor): FaultChoice | null {
  const step = saga.steps.find((s) => s.onFailure.length > 0) ?? saga.steps[1] ?? saga.steps[0]
  return step ? { step: step.name, kind: 'reject' } : null
}

/** Whether an instance belongs in a list filtered by saga and status. */
export function matches(instance: SagaInstance, saga: string | null, status: SagaStatus | null): boolean {
  return (!saga || instance.saga === saga) && (!status || instance.status === status)
}

/** A link that opens an event in the Streams panel. */
export function streamLink(e: { streamId: string; position: number }): { path: string; query: Record<string, string> } {
  return { path: '/streams', query: { stream: e.streamId, event: String(e.position) } }
}

/**
 * The Sagas panel's orchestration view: the workspace's sagas and their definition problems, the instances of the
 * chosen saga with counts per status, one instance with its saga stream and the events its commands produced; new
 * demo runs with faults armed for them, and the engine clock. Follows `sagas.instance` and the workspace's revision.
 */
export const useSagasStore = defineStore('sagas', () => {
  const connection = useConnectionStore()
  const workspace = useWorkspaceStore()
  const sagas = ref<SagaDescriptor[]>([])
  const problems = ref<SagaProblem[]>([])
  /** Errors the coordinator met outside a step (newest last). */
  const coordinatorErrors = ref<string[]>([])
  const loaded = ref(false)
  const error = ref<string | null>(null)
  const selected = ref<string | null>(null)
  const status = ref<SagaStatus | null>(null)
  const instances = ref<SagaInstance[]>([])
  const counts = ref<Record<string, number>>({})
  const total = ref(0)
  const instancesLoaded = ref(false)
  const instancesError = ref<string | null>(null)
  const selectedInstance = ref<string | null>(null)
  const detail = ref<{ instance: SagaInstance; timeline: RecordedEvent[] } | null>(null)
  const produced = shallowRef<Map<string, RecordedEvent[]>>(new Map())
  const detailError = ref<string | null>(null)
  const faults = ref<FaultChoice[]>([])
  const everyAttempt = ref(true)
  const armed = ref<SagaFault[]>([])
  const starting = ref(false)
  const runError = ref<string | null>(null)
  /** The last demo run: its order, and its instance once it started. */
  const lastRun = ref<{ orderId: string; streamId: string; faults: FaultChoice[] } | null>(null)
  const clock = ref<{ now: number; offsetMs: number } | null>(null)
  const advancing = ref(false)
  const clockError = ref<string | null>(null)
  let stops: Disposer[] = []
  let listTimer: ReturnType<typeof setTimeout> | undefined
  let detailTimer: ReturnType<typeof setTimeout> | undefined
  let listRequest = 0
  let detailRequest = 0
  let knownRevision: string | null = null

  const current = computed(() => sagas.value.find((s) => s.name === selected.value) ?? null)
  const currentProblems = computed(() => problems.value.filter((p) => p.saga === selected.value))
  /** Problems of no saga on the list (a file whose saga could not be described). */
  const looseProblems = computed(() => problems.value.filter((p) => !sagas.value.some((s) => s.name === p.saga)))
  const graph = computed(() => (current.value ? definitionGraph(current.value, problems.value) : null))
  const overlay = computed(() => (graph.value && detail.value && detail.value.instance.saga === selected.value ? instanceOverlay(graph.value, detail.value.instance, detail.value.timeline) : null))
  const entries = computed(() => (detail.value ? timelineEntries(detail.value.timeline, produced.value) : []))
  const advance = computed(() => (detail.value ? clockAdvanceFor(detail.value.instance, detail.value.timeline) : null))
  const allCount = computed(() => Object.values(counts.value).reduce((a, b) => a + b, 0))
  /** A demo run places an order: offered for sagas an order starts. */
  const canRunDemo = computed(() => current.value?.startedBy.includes('OrderPlaced') ?? false)

  async function loadList(): Promise<void> {
    try {
      const list = await connection.rpc().sagas.list()
      sagas.value = list.sagas
      problems.value = list.problems
      coordinatorErrors.value = list.errors
      loaded.value = true
      error.value = null
      if (selected.value && !list.sagas.some((s) => s.name === selected.value)) selected.value = null
      if (!selected.value && list.sagas.length) select(list.sagas[0].name)
      else if (selected.value) keepFaults()
    } catch (e) {
      error.value = `Could not list the sagas: ${describeError(e)}`
    }
  }

  async function loadInstances(): Promise<void> {
    const mine = ++listRequest
    try {
      const page = await connection.rpc().sagas.instances({ saga: selected.value ?? undefined, status: status.value ?? undefined, limit: INSTANCE_LIMIT })
      if (mine !== listRequest) return
      instances.value = page.instances
      counts.value = page.counts
      total.value = page.total
      instancesLoaded.value = true
      instancesError.value = null
    } catch (e) {
      if (mine === listRequest) instancesError.value = `Could not list the instances: ${describeError(e)}`
    }
  }

  /** The events of an instance's correlation id, by the command that produced them (for the timeline's links). */
  async function loadProduced(rpc: WorkbenchClient, correlationId: string): Promise<Map<string, RecordedEvent[]>> {
    const events: RecordedEvent[] = []
    let from: number | undefined
    for (let page = 0; page < PRODUCED_PAGES; page++) {
      const result = await rpc.store.readAll({ filter: { correlationId }, from, limit: 1000 })
      events.push(...result.events)
      if (result.next === null) break
      from = result.next
    }
    return eventsByCommand(events)
  }

  async function loadDetail(streamId: string): Promise<void> {
    const mine = ++detailRequest
    try {
      const rpc = connection.rpc()
      const next = await rpc.sagas.instance({ streamId })
      const links = await loadProduced(rpc, next.instance.correlationId).catch(() => new Map<string, RecordedEvent[]>())
      if (mine !== detailRequest || selectedInstance.value !== streamId) return
      // An answer older than the instance event already shown would move the instance back (the next read follows).
      if (detail.value?.instance.streamId === streamId && next.instance.version < detail.value.instance.version) return
      detail.value = next
      produced.value = links
      detailError.value = null
    } catch (e) {
      if (mine === detailRequest && selectedInstance.value === streamId) detailError.value = `Could not read instance ${streamId}: ${describeError(e)}`
    }
  }

  function keepFaults(): void {
    const saga = current.value
    if (!saga) return
    faults.value = faults.value.filter((f) => saga.steps.some((s) => s.name === f.step))
    if (!faults.value.length) {
      const f = defaultFault(saga)
      faults.value = f ? [f] : []
    }
  }

  function select(name: string | null): void {
    if (name === selected.value) return
    selected.value = name
    selectedInstance.value = null
    detail.value = null
    instancesLoaded.value = false
    faults.value = []
    keepFaults()
    void loadInstances()
  }

  function filter(next: SagaStatus | null): void {
    status.value = next
    void loadInstances()
  }

  async function selectInstance(streamId: string | null): Promise<void> {
    selectedInstance.value = streamId
    detailError.value = null
    if (!streamId) {
      detail.value = null
      return
    }
    if (detail.value?.instance.streamId !== streamId) {
      detail.value = null
      produced.value = new Map()
    }
    await loadDetail(streamId)
  }

  /** An instance moved: its row and the selected instance change at once, the list and counts once the burst settles. */
  function onInstance(instance: SagaInstance): void {
    if (instance.saga === selected.value) {
      const i = instances.value.findIndex((x) => x.streamId === instance.streamId)
      if (i >= 0) instances.value = instances.value.map((x, n) => (n === i ? instance : x))
      else if (matches(instance, selected.value, status.value)) instances.value = [instance, ...instances.value]
      clearTimeout(listTimer)
      listTimer = setTimeout(() => void loadInstances(), RELOAD_DELAY_MS)
    }
    // A demo run's instance: shown as soon as it starts.
    if (lastRun.value?.streamId === instance.streamId && selectedInstance.value !== instance.streamId && !detail.value) void selectInstance(instance.streamId)
    if (instance.streamId === selectedInstance.value) {
      if (detail.value && detail.value.instance.streamId === instance.streamId && instance.version >= detail.value.instance.version) detail.value = { ...detail.value, instance }
      clearTimeout(detailTimer)
      detailTimer = setTimeout(() => void loadDetail(instance.streamId), 60)
    }
  }

  /** The starting event's data of an earlier instance (or the newest OrderPlaced): what a demo run copies. */
  async function demoTemplate(rpc: WorkbenchClient, saga: SagaDescriptor): Promise<Record<string, unknown> | null> {
    const fromTimeline = (timeline: RecordedEvent[]) => {
      const start = timeline[0]?.data.start as { data?: Record<string, unknown> } | undefined
      return start?.data ?? null
    }
    if (detail.value?.instance.saga === saga.name) {
      const data = fromTimeline(detail.value.timeline)
      if (data) return data
    }
    const first = instances.value.find((i) => i.saga === saga.name)
    if (first) {
      const data = fromTimeline((await rpc.sagas.instance({ streamId: first.streamId })).timeline)
      if (data) return data
    }
    const page = await rpc.store.readAll({ filter: { types: saga.startedBy.slice(0, 100) }, direction: 'backwards', limit: 1 })
    return page.events[0]?.data ?? null
  }

  /** Arms the chosen faults for the next instance; with `placeOrder`, places a new order (copied, fresh ids) that starts it. */
  async function startDemoRun(placeOrder = true): Promise<boolean> {
    const saga = current.value
    if (!saga || starting.value) return false
    starting.value = true
    runError.value = null
    try {
      const rpc = connection.rpc()
      let order = null
      if (placeOrder) {
        const template = await demoTemplate(rpc, saga)
        order = template ? demoOrder(template, Date.now().toString(36)) : null
        if (!order) throw new Error(`no earlier ${saga.startedBy.join(' or ')} to copy an order from`)
      }
      const chosen = [...faults.value]
      for (const f of chosen) {
        for (let i = armCount(f, saga, everyAttempt.value); i > 0; i--) armed.value = (await rpc.sagas.injectFault({ saga: saga.name, step: f.step, kind: f.kind })).armed
      }
      if (!order) return true
      lastRun.value = { orderId: order.orderId, streamId: `saga-${saga.name}-${order.orderId}`, faults: chosen }
      if (status.value) filter(null)
      selectedInstance.value = null
      detail.value = null
      const outcome = await rpc.commands.send({ decider: 'orders', command: 'PlaceOrder', data: { ...order } })
      if (outcome.outcome === 'rejected') {
        runError.value = `The order was refused (${outcome.rule}: ${outcome.message}); the faults stay armed for the next instance.`
        lastRun.value = null
        return false
      }
      // Armed faults are taken by the instance that starts; the next arming starts from none.
      armed.value = []
      const known = instances.value.find((i) => i.streamId === lastRun.value?.streamId)
      if (known && selectedInstance.value !== known.streamId) await selectInstance(known.streamId)
      return true
    } catch (e) {
      runError.value = `Could not start a demo run: ${describeError(e)}`
      return false
    } finally {
      starting.value = false
    }
  }

  function addFault(): void {
    const saga = current.value
    if (!saga?.steps.length) return
    const step = saga.steps.find((s) => !faults.value.some((f) => f.step === s.name)) ?? saga.steps[0]
    faults.value = [...faults.value, { step: step.name, kind: 'fail-compensation' }]
  }

  function removeFault(index: number): void {
    faults.value = faults.value.filter((_, i) => i !== index)
  }

  async function advanceClock(ms: number): Promise<boolean> {
    if (!Number.isInteger(ms) || ms < 1) {
      clockError.value = 'Move the clock on by a whole number of milliseconds, at least 1'
      return false
    }
    advancing.value = true
    clockError.value = null
    try {
      clock.value = await connection.rpc().sagas.advanceClock({ ms })
      return true
    } catch (e) {
      clockError.value = `Could not move the clock: ${describeError(e)}`
      return false
    } finally {
      advancing.value = false
    }
  }

  async function load(): Promise<void> {
    await loadList()
    await loadInstances()
    if (selectedInstance.value) await loadDetail(selectedInstance.value)
  }

  /** Reads the sagas and follows their instances until close(). */
  async function open(): Promise<void> {
    close()
    try {
      stops = [connection.rpc().sagas.on('instance', onInstance), connection.rpc().sagas.on('errors', ({ errors }) => (coordinatorErrors.value = errors))]
    } catch (e) {
      error.value = describeError(e)
      return
    }
    knownRevision = revisionKey()
    await load()
  }

  function close(): void {
    for (const stop of stops) stop()
    stops = []
    clearTimeout(listTimer)
    clearTimeout(detailTimer)
  }

  function revisionKey(): string | null {
    return workspace.state ? `${workspace.state.path}#${workspace.state.revision}` : null
  }

  // A saved saga file, trust, or another workspace: the sagas may have changed (and their instances with another log).
  watch(
    () => revisionKey(),
    (key) => {
      if (stops.length === 0 || key === knownRevision) return
      const otherWorkspace = knownRevision?.split('#')[0] !== key?.split('#')[0]
      knownRevision = key
      if (otherWorkspace) {
        selected.value = null
        selectedInstance.value = null
        detail.value = null
        lastRun.value = null
        armed.value = []
      }
      void load()
    }
  )

  return {
    sagas, problems, coordinatorErrors, loaded, error, selected, status, instances, counts, total, instancesLoaded, instancesError, selectedInstance, detail, produced, detailError,
    faults, everyAttempt, armed, starting, runError, lastRun, clock, advancing, clockError,
    current, currentProblems, looseProblems, graph, overlay, entries, advance, allCount, canRunDemo,
    load, loadList, loadInstances, loadDetail, select, filter, selectInstance, onInstance, startDemoRun, addFault, removeFault, advanceClock, open, close
  }
})
