import type { SagaInstance, SagaStatus, StepState } from '../../shared/contract/sagas'
import type { RecordedEvent } from '../../shared/model/events'

/** The saga stream of an instance: `saga-<name>-<id>` (category `saga`). */
export const sagaStreamId = (saga: string, id: string) => `saga-${saga}-${id}`

/** The event types of a saga stream. */
export const SAGA_EVENTS = {
  started: 'SagaStarted',
  stepSent: 'SagaStepSent',
  stepCompleted: 'SagaStepCompleted',
  stepFailed: 'SagaStepFailed',
  compensationSent: 'SagaCompensationSent',
  stepCompensated: 'SagaStepCompensated',
  completed: 'SagaCompleted',
  aborted: 'SagaAborted',
  parked: 'SagaParked'
} as const

export interface StartEvent {
  position: number
  streamId: string
  type: string
  id: string
  data: Record<string, unknown>
  metadata: Record<string, unknown> | null
}

/** What the coordinator knows of an instance: the public summary plus what it needs to go on. */
export interface InstanceState extends SagaInstance {
  start: StartEvent
  results: Record<string, StartEvent | null>
  /** What to do next: send the current step, wait for it, retry it at `deadline`, compensate, or nothing. */
  phase: 'send' | 'waiting' | 'retry' | 'compensate' | 'compensation-sent' | 'done'
  attempt: number
  /** The commands of the step (or compensation) in flight, for a resend with the same idempotency keys. */
  inFlight: string[]
  /** Steps completed, in order. */
  completed: string[]
  compensatedSteps: string[]
}

type Data = Record<string, unknown>

/** Folds a saga stream into the instance's state; `steps` are the saga's step names in order. */
export function foldInstance(events: RecordedEvent[], steps: string[]): InstanceState | null {
  const first = events[0]
  if (!first || first.type !== SAGA_EVENTS.started) return null
  const d = first.data as { saga: string; id: string; correlationId: string; start: StartEvent; steps?: string[] }
  // The saga's steps as the definition has them, else as the instance recorded them when it started.
  if (!steps.length && Array.isArray(d.steps)) steps = d.steps.map(String)
  const s: InstanceState = {
    streamId: first.streamId,
    saga: d.saga,
    id: d.id,
    correlationId: d.correlationId,
    status: 'running',
    current: steps[0] ?? null,
    steps: Object.fromEntries(steps.map((name) => [name, { state: 'pending' as StepState, attempts: 0 }])),
    startedAt: first.recordedAt,
    updatedAt: first.recordedAt,
    deadline: null,
    reason: null,
    version: 0,
    start: d.start,
    results: {},
    phase: 'send',
    attempt: 1,
    inFlight: [],
    completed: [],
    compensatedSteps: []
  }
  applyEvents(s, events, steps)
  return s
}

/** Folds more events of an instance's saga stream into its state (in place). */
export function applyEvents(s: InstanceState, events: RecordedEvent[], steps: string[]): void {
  if (!steps.length) steps = Object.keys(s.steps)
  const step = (name: string) => (s.steps[name] ??= { state: 'pending', attempts: 0 })
  for (const e of events) {
    const data = e.data as Data
    s.version = e.version
    s.updatedAt = e.recordedAt
    switch (e.type) {
      case SAGA_EVENTS.stepSent: {
        const name = String(data.step)
        step(name).state = 'sent'
        step(name).attempts = Number(data.attempt)
        s.current = name
        s.attempt = Number(data.attempt)
        s.phase = 'waiting'
        s.inFlight = (data.commandIds as string[]) ?? []
        s.deadline = typeof data.deadline === 'number' ? data.deadline : null
        break
      }
      case SAGA_EVENTS.stepCompleted: {
        const name = String(data.step)
        step(name).state = 'completed'
        s.completed.push(name)
        s.results[name] = (data.by as StartEvent | null) ?? null
        s.inFlight = []
        s.deadline = null
        // After the last step, 'send' with no current step records the completion.
        s.current = steps[steps.indexOf(name) + 1] ?? null
        s.phase = 'send'
        s.attempt = 1
        break
      }
      case SAGA_EVENTS.stepFailed: {
        const name = String(data.step)
        step(name).state = 'failed'
        s.inFlight = []
        s.reason = `${name}: ${String(data.message)}`
        if (typeof data.retryAt === 'number') {
          s.phase = 'retry'
          s.deadline = data.retryAt
          s.attempt = Number(data.attempt) + 1
        } else {
          s.phase = 'compensate'
          s.status = 'compensating'
          s.current = null
          s.deadline = null
        }
        break
      }
      case SAGA_EVENTS.compensationSent: {
        const name = String(data.step)
        step(name).state = 'compensating'
        s.current = name
        s.phase = 'compensation-sent'
        s.inFlight = (data.commandIds as string[]) ?? []
        break
      }
      case SAGA_EVENTS.stepCompensated: {
        const name = String(data.step)
        step(name).state = 'compensated'
        s.compensatedSteps.push(name)
        s.inFlight = []
        s.current = null
        s.phase = 'compensate'
        break
      }
      case SAGA_EVENTS.completed:
        s.status = 'completed'
        s.phase = 'done'
        s.current = null
        s.deadline = null
        break
      case SAGA_EVENTS.aborted:
        s.status = 'compensated'
        s.phase = 'done'
        s.current = null
        s.deadline = null
        break
      case SAGA_EVENTS.parked:
        s.status = 'parked'
        s.phase = 'done'
        s.reason = String(data.reason)
        s.deadline = null
        break
    }
  }
  if (s.status === 'compensating' && s.phase === 'compensate') s.current = null
}

/** The summary sent to the renderer (no start event or results). */
export function summary(s: InstanceState): SagaInstance {
  return {
    streamId: s.streamId,
    saga: s.saga,
    id: s.id,
    correlationId: s.correlationId,
    status: s.status,
    current: s.current,
    steps: s.steps,
    startedAt: s.startedAt,
    updatedAt: s.updatedAt,
    deadline: s.deadline,
    reason: s.reason,
    version: s.version
  }
}

export const isFinished = (status: SagaStatus) => status === 'completed' || status === 'compensated' || status === 'parked'
