// Test support: a stand-in for the RPC client, so store tests run without a server. Not used by the app.
import type { SentCommand, WorkspaceState } from '../../../shared/contract'
import type { RecordedEvent, StreamInfo } from '../../../shared/model/events'
import type { WorkbenchClient } from '../rpc'
import { useConnectionStore } from './connection'

type Listener = (payload: never) => void
type Methods = Record<string, (input?: never) => Promise<unknown>>
type ServiceName = 'workbench' | 'store' | 'jobs' | 'workspace' | 'commands'

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
  const names: ServiceName[] = ['workbench', 'store', 'jobs', 'workspace', 'commands']
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
