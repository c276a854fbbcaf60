// Test support: a stand-in for the RPC client, so store tests run without a server. Not used by the app.
import type { DryRunReport, EventSchema, JobInfo, MigrationReport, ProjectionDescriptor, ProjectionStatus, SagaDescriptor, SagaInstance, SentCommand, UpcasterStep, WorkspaceState } from '../../../shared/contract'
import type { RecordedEvent, StreamInfo } from '../../../shared/model/events'
import type { WorkbenchClient } from '../rpc'
import { useConnectionStore } from './connection'

type Listener = (payload: never) => void
type Methods = Record<string, (input?: never) => Promise<unknown>>
type ServiceName = 'workbench' | 'store' | 'jobs' | 'workspace' | 'commands' | 'replay' | 'projections' | 'versioning' | 'upcasters' | 'sagas'

export interface FakeClient {
  client: WorkbenchClient
  /** Delivers an event to the listeners of `service.event`. */
  emit(service: ServiceName, event: string, payload: unknown): void
  listenerCount(): number
}

/** A client whose methods are the given functions; a method not given rejects as UnknownMethod. */
export function fakeClient(services: Partial<Record<ServiceName, Methods>> = {}): FakeClient {
  const listeners = new Map<string, Set<Listener>>()
  const service = (name: ServiceName, methods: Methods = {}) =>
    new Proxy(methods, {
      get(target, key: string) {
        if (key === 'on') {
          return (event: string, listener: Listener) => {
            const k = `${name}.${event}`
            const set = listeners.get(k) ?? new Set<Listener>()
            listeners.set(k, set)
            set.add(listener)
            return () => set.delete(listener)
          }
        }
        return target[key] ?? (() => Promise.reject(Object.assign(new Error(`Unknown method ${name}.${key}`), { code: 'UnknownMethod' })))
      }
    })
  const names: ServiceName[] = ['workbench', 'store', 'jobs', 'workspace', 'commands', 'replay', 'projections', 'versioning', 'upcasters', 'sagas']
  const client = { ...Object.fromEntries(names.map((name) => [name, service(name, services[name])])), close() {} }
  return {
    client: client as unknown as WorkbenchClient,
    emit(name, event, payload) {
      for (const l of [...(listeners.get(`${name}.${event}`) ?? [])]) (l as (p: unknown) => void)(payload)
    },
    listenerCount: () => [...listeners.values()].reduce((n, s) => n + s.size, 0)
  }
}

/** Puts the fake under every store (call after setActivePinia). */
export function installFakeClient(fake: FakeClient): void {
  useConnectionStore().rpc = () => fake.client
}

/** A stored event with plausible defaults. */
export function recordedEvent(position: number, fields: Partial<RecordedEvent> = {}): RecordedEvent {
  return {
    position,
    streamId: 'order-1',
    version: position,
    type: 'OrderPlaced',
    schemaVersion: 1,
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    data: { n: position },
    metadata: null,
    recordedAt: Date.UTC(2025, 0, 1) + position * 1000,
    ...fields
  }
}

/** A stream summary with plausible defaults. */
export function streamSummary(streamId: string, fields: Partial<StreamInfo> = {}): StreamInfo {
  return {
    streamId,
    category: streamId.split('-')[0],
    version: 1,
    eventCount: 1,
    firstPosition: 1,
    lastPosition: 1,
    createdAt: Date.UTC(2025, 0, 1),
    updatedAt: Date.UTC(2025, 0, 1),
    state: 'live',
    metadata: {},
    ...fields
  }
}

/** A workspace state with plausible defaults: the demo, trusted, with no files. */
export function workspaceState(fields: Partial<WorkspaceState> = {}): WorkspaceState {
  return {
    path: '/ws/demo',
    name: 'Demo shop',
    description: null,
    demo: true,
    trusted: true,
    files: [],
    definitions: [],
    problems: [],
    store: { kind: 'sqlite', file: '/ws/demo/events.db' },
    revision: 1,
    ...fields
  }
}

/** A command as the history lists it. */
export function sentCommand(commandId: string, fields: Partial<SentCommand> = {}): SentCommand {
  return {
    commandId,
    decider: 'payments',
    command: 'ChargePayment',
    data: { orderId: 'o-1', amountCents: 100 },
    sentAt: Date.UTC(2025, 0, 1),
    outcome: 'accepted',
    summary: '1 event: PaymentCharged',
    streamId: 'payment-o-1',
    ...fields
  }
}

/**
 * The replay service over one stream of `length` events whose state after version v is `{ total: v * 10, status }`;
 * `methods` replace or add methods (fixture, checkDeterminism ...).
 */
export function fakeReplay(streamId: string, length: number, methods: Methods = {}): Methods {
  const ref = (v: number) => ({ position: 100 + v, version: v, type: v === 1 ? 'OrderPlaced' : 'OrderPaid', id: `e-${v}`, recordedAt: Date.UTC(2025, 0, 1) + v * 1000 })
  const state = (v: number) => ({ total: v * 10, status: v === 0 ? 'none' : 'placed' })
  const replay = {
    deciderFor: async () => ({ decider: 'orders', candidates: [{ name: 'orders', streamPrefix: streamId.split('-')[0] }] }),
    steps: async (input: { fromVersion?: number; limit?: number }) => {
      const from = input.fromVersion ?? 1
      const last = Math.min(from + (input.limit ?? 200) - 1, length)
      const steps = []
      for (let v = from; v <= last; v++) {
        steps.push({ event: recordedEvent(100 + v, { streamId, version: v, type: ref(v).type }), before: state(v - 1), after: state(v), changes: [{ kind: 'changed', path: ['total'], before: (v - 1) * 10, after: v * 10 }] })
      }
      return { decider: 'orders', steps, streamVersion: length, next: last < length ? last + 1 : null }
    },
    stateAt: async (input: { at?: { version?: number } }) => {
      const v = Math.min(input.at?.version ?? length, length)
      return { streamId, decider: 'orders', state: state(v), version: v, event: v === 0 ? null : ref(v), snapshotVersion: null, eventsFolded: v, streamVersion: length }
    },
    blame: async (input: { at?: { version?: number } }) => ({ decider: 'orders', version: input.at?.version ?? length, fields: [] }),
    ...methods
  }
  return replay as unknown as Methods
}

/** A projection's status with plausible defaults: caught up at position 100 with one table. */
export function projectionStatus(name: string, fields: Partial<ProjectionStatus> = {}): ProjectionStatus {
  return {
    name,
    file: `projections/${name}.ts`,
    lifecycle: 'async',
    state: 'caught-up',
    position: 100,
    headPosition: 100,
    lagEvents: 0,
    lagMs: 0,
    throughput: 0,
    fault: null,
    job: null,
    shadow: null,
    tables: [{ name: 'orders', sqlName: `rm_${name}_orders`, rows: 10 }],
    server: null,
    ...fields
  }
}

/** A projection's descriptor: table `orders` keyed by orderId, indexed by status and placedAt; one query. */
export function projectionDescriptor(name: string, fields: Partial<ProjectionDescriptor> = {}): ProjectionDescriptor {
  return {
    name,
    file: `projections/${name}.ts`,
    exportName: 'default',
    description: null,
    from: { categories: ['order'] },
    lifecycle: 'async',
    tables: {
      orders: {
        columns: { orderId: 'text', status: 'text', totalCents: 'integer', placedAt: 'integer', tags: 'json' },
        key: ['orderId'],
        indexes: [['status'], ['placedAt']]
      }
    },
    handles: ['OrderPlaced', 'OrderPaid'],
    reads: ['OrderPlaced', 'OrderPaid'],
    queries: [
      {
        name: 'byStatus',
        description: 'Orders in a status',
        schema: { type: 'object', properties: { status: { type: 'string', enum: ['placed', 'paid'] } }, required: ['status'], additionalProperties: false }
      }
    ],
    ...fields
  }
}

/** What the log holds of a type at a schema version: `count` events whose data has the given fields (strings). */
export function eventSchema(type: string, schemaVersion: number, count: number, fields: string[] = ['id'], extra: Partial<EventSchema> = {}): EventSchema {
  return {
    type,
    schemaVersion,
    count,
    firstPosition: 1,
    lastPosition: count,
    firstRecordedAt: Date.UTC(2025, 0, 1),
    lastRecordedAt: Date.UTC(2025, 1, 1),
    shape: { count, types: { object: count }, fields: fields.map((name) => ({ name, optional: false, shape: { count, types: { string: count }, examples: ['a'] } })) },
    examples: [],
    ...extra
  }
}

/** One upcaster step of `upcasters/<type>.ts`. */
export function upcasterStep(eventType: string, fromVersion: number, toVersion: number, fields: Partial<UpcasterStep> = {}): UpcasterStep {
  return { file: `upcasters/${eventType}.ts`, exportName: 'default', eventType, fromVersion, toVersion, toType: null, split: false, description: null, ...fields }
}

/** A job as `jobs.updated` reports it: running, with nothing done yet. */
export function jobInfo(id: string, fields: Partial<JobInfo> = {}): JobInfo {
  return { id, kind: 'dry-run', title: 'Dry-run', state: 'running', done: 0, total: null, message: '', startedAt: Date.UTC(2025, 0, 1), finishedAt: null, error: null, ...fields }
}

/** A clean dry-run report over `events` ItemAdded v1 events. */
export function dryRunReport(fields: Partial<DryRunReport> = {}, events = 10): DryRunReport {
  return {
    events,
    durationMs: 12,
    problems: [],
    counts: [{ type: 'ItemAdded', schemaVersion: 1, transformed: events, unchanged: 0, failed: 0, mismatched: 0 }],
    failures: [],
    samples: [],
    mismatches: [],
    newest: [{ type: 'ItemAdded', schemaVersion: 2 }],
    ok: true,
    ...fields
  }
}

/** A verified migration into `target`. */
export function migrationReport(target: string, fields: Partial<MigrationReport> = {}): MigrationReport {
  return { target, eventsBefore: 100, eventsAfter: 100, streams: 10, durationMs: 500, streamMismatches: [], unstable: [], projections: [{ name: 'order_summary', equal: true, differences: [] }], verified: true, ...fields }
}

/** The demo's order fulfilment: reserve-stock → charge-payment (1 retry, PaymentDeclined fails it) → create-shipment (no return). */
export function sagaDescriptor(fields: Partial<SagaDescriptor> = {}): SagaDescriptor {
  const step = (name: string, extra: Partial<SagaDescriptor['steps'][number]> = {}) => ({
    name,
    description: null,
    onSuccess: [],
    onFailure: [],
    hasCompensation: true,
    pointOfNoReturn: false,
    timeoutMs: 300_000,
    retries: { max: 0, backoffMs: 0 },
    ...extra
  })
  return {
    name: 'order_fulfilment',
    file: 'sagas/order-fulfilment.ts',
    exportName: 'default',
    description: null,
    startedBy: ['OrderPlaced'],
    steps: [
      step('reserve-stock', { onSuccess: ['StockReserved'] }),
      step('charge-payment', { onSuccess: ['PaymentCharged'], onFailure: ['PaymentDeclined'], timeoutMs: 900_000, retries: { max: 1, backoffMs: 30_000 } }),
      step('create-shipment', { onSuccess: ['ShipmentCreated'], hasCompensation: false, pointOfNoReturn: true, timeoutMs: 3_600_000 })
    ],
    ...fields
  }
}

/** An instance of the order fulfilment for order `id`, running its first step. */
export function sagaInstance(id: string, fields: Partial<SagaInstance> = {}): SagaInstance {
  return {
    streamId: `saga-order_fulfilment-${id}`,
    saga: 'order_fulfilment',
    id,
    correlationId: `corr-${id}`,
    status: 'running',
    current: 'reserve-stock',
    steps: { 'reserve-stock': { state: 'sent', attempts: 1 }, 'charge-payment': { state: 'pending', attempts: 0 }, 'create-shipment': { state: 'pending', attempts: 0 } },
    startedAt: Date.UTC(2025, 0, 1),
    updatedAt: Date.UTC(2025, 0, 1),
    deadline: null,
    reason: null,
    version: 2,
    ...fields
  }
}

/** A saga stream event (`SagaStepSent` ...) at a position, recorded at engine time `at`. */
export function sagaEvent(position: number, type: string, data: Record<string, unknown>, id = 'o-1'): RecordedEvent {
  return recordedEvent(position, { streamId: `saga-order_fulfilment-${id}`, type, data: { at: Date.UTC(2025, 0, 1) + position * 1000, ...data }, metadata: { correlationId: `corr-${id}` } })
}
