import type { SagaInstance } from '../../shared/contract/sagas'
import type { RecordedEvent } from '../../shared/model/events'
import { duration } from './format'

export type TimelineKind = 'started' | 'sent' | 'completed' | 'failed' | 'compensation-sent' | 'compensated' | 'saga-completed' | 'aborted' | 'parked' | 'other'

/** A command a saga step sent, and the events it produced (found by the command id they carry). */
export interface SentCommandLink {
  commandId: string
  name: string
  produced: RecordedEvent[]
}

/** An event another one points at (what started the instance, what completed a step). */
export interface EventRef {
  position: number
  streamId: string
  type: string
}

export interface TimelineEntry {
  event: RecordedEvent
  kind: TimelineKind
  step: string | null
  title: string
  detail: string | null
  /** The engine clock when the saga recorded it (deadlines and retries are on this clock). */
  at: number
  commands: SentCommandLink[]
  ref: EventRef | null
}

const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v))
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/** Events of a correlation id by the command that produced them: `causationId` (and `commandId`) is the command's id. */
export function eventsByCommand(events: RecordedEvent[]): Map<string, RecordedEvent[]> {
  const map = new Map<string, RecordedEvent[]>()
  for (const e of events) {
    const meta = (e.metadata ?? {}) as Record<string, unknown>
    const ids = new Set([meta.causationId, meta.commandId].filter((v): v is string => typeof v === 'string'))
    for (const id of ids) map.set(id, [...(map.get(id) ?? []), e])
  }
  return map
}

function refOf(value: unknown): EventRef | null {
  if (!value || typeof value !== 'object') return null
  const v = value as Record<string, unknown>
  return typeof v.position === 'number' && typeof v.streamId === 'string' ? { position: v.position, streamId: v.streamId, type: text(v.type) } : null
}

function commandsOf(data: Record<string, unknown>, produced: Map<string, RecordedEvent[]>): SentCommandLink[] {
  const ids = Array.isArray(data.commandIds) ? data.commandIds : []
  const names = Array.isArray(data.commands) ? data.commands : []
  return ids.map((id, k) => ({ commandId: text(id), name: text(names[k]) || 'command', produced: produced.get(text(id)) ?? [] }))
}

/** Each event of a saga stream as a line of the instance's timeline, with the commands sent and what they produced. */
export function timelineEntries(timeline: RecordedEvent[], produced: Map<string, RecordedEvent[]> = new Map()): TimelineEntry[] {
  return timeline.map((event) => {
    const d = event.data
    const step = typeof d.step === 'string' ? d.step : null
    const at = num(d.at) ?? event.recordedAt
    const base = { event, step, at, commands: [] as SentCommandLink[], ref: null as EventRef | null, detail: null as string | null }
    switch (event.type) {
      case 'SagaStarted': {
        const ref = refOf(d.start)
        return { ...base, kind: 'started', title: `Started by ${ref?.type ?? 'an event'}`, ref, detail: d.correlationId ? `correlation ${text(d.correlationId)}` : null }
      }
      case 'SagaStepSent': {
        const attempt = num(d.attempt) ?? 1
        const deadline = num(d.deadline)
        return {
          ...base,
          kind: 'sent',
          title: `${step} sent${attempt > 1 ? ` (attempt ${attempt})` : ''}`,
          commands: commandsOf(d, produced),
          detail: deadline !== null ? `answer due within ${duration(deadline - at)}` : null
        }
      }
      case 'SagaStepCompleted': {
        const ref = refOf(d.by)
        return { ...base, kind: 'completed', title: `${step} completed${ref ? ` by ${ref.type}` : ''}`, ref }
      }
      case 'SagaStepFailed': {
        const retryAt = num(d.retryAt)
        const why = text(d.reason) === 'timeout' ? 'timed out' : text(d.reason) === 'failure-event' ? 'failed' : text(d.reason) || 'failed'
        return {
          ...base,
          kind: 'failed',
          title: `${step} ${why}${num(d.attempt) && num(d.attempt)! > 1 ? ` (attempt ${num(d.attempt)})` : ''}`,
          detail: `${text(d.message)}${retryAt !== null ? ` · retried in ${duration(retryAt - at)}` : ' · no retry left: compensating'}`
        }
      }
      case 'SagaCompensationSent':
        return { ...base, kind: 'compensation-sent', title: `undo ${step} sent`, commands: commandsOf(d, produced) }
      case 'SagaStepCompensated':
        return { ...base, kind: 'compensated', title: `${step} compensated` }
      case 'SagaCompleted':
        return { ...base, kind: 'saga-completed', title: 'Completed' }
      case 'SagaAborted':
        return { ...base, kind: 'aborted', title: 'Compensated: every completed step undone', detail: text(d.reason) || null }
      case 'SagaParked':
        return { ...base, kind: 'parked', title: `Parked at ${step}: needs a person`, detail: text(d.reason) || null }
      default:
        return { ...base, kind: 'other', title: event.type }
    }
  })
}

/** How far the engine clock must move to pass what the instance waits for (a step's deadline or its retry), if anything. */
export function clockAdvanceFor(instance: SagaInstance, timeline: RecordedEvent[]): { ms: number; waitingFor: 'deadline' | 'retry'; step: string | null } | null {
  if (instance.deadline === null || (instance.status !== 'running' && instance.status !== 'compensating')) return null
  const last = [...timeline].reverse().find((e) => typeof e.data.at === 'number')
  if (!last) return null
  const retrying = last.type === 'SagaStepFailed' && num(last.data.retryAt) !== null
  // The engine clock when the deadline was set, plus a second: the deadline is then behind it whatever the delay since.
  const ms = Math.max(1000, instance.deadline - (last.data.at as number) + 1000)
  return { ms, waitingFor: retrying ? 'retry' : 'deadline', step: instance.current }
}

export interface PlaceOrderData {
  orderId: string
  cartId: string
  customerId: string
  country: string
  lines: Array<{ sku: string; quantity: number; priceCents: number }>
}

/** A new order like one placed before (same customer, country and lines), with fresh ids: a new demo run. */
export function demoOrder(start: Record<string, unknown>, suffix: string): PlaceOrderData | null {
  const lines = Array.isArray(start.lines) ? start.lines : null
  if (!lines?.length || typeof start.customerId !== 'string' || typeof start.country !== 'string') return null
  return {
    orderId: `demo-run-${suffix}`,
    cartId: `cart-demo-run-${suffix}`,
    customerId: start.customerId,
    country: start.country,
    lines: lines.map((l: Record<string, unknown>) => ({ sku: text(l.sku), quantity: Number(l.quantity), priceCents: Number(l.priceCents) }))
  }
}
