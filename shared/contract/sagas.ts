import { z } from 'zod'
import { defineService, event, method } from '../rpc/contract'
import { recordedEvent } from '../model/events'
import { jobInfo } from './jobs'

export const sagaStep = z.object({
  name: z.string(),
  description: z.string().nullable(),
  /** Event types that complete the step. */
  onSuccess: z.array(z.string()),
  /** Event types that fail it (a rejected command and the deadline fail it too). */
  onFailure: z.array(z.string()),
  hasCompensation: z.boolean(),
  pointOfNoReturn: z.boolean(),
  timeoutMs: z.number(),
  retries: z.object({ max: z.number().int(), backoffMs: z.number() })
})
export type SagaStep = z.infer<typeof sagaStep>

export const sagaDescriptor = z.object({
  name: z.string(),
  file: z.string(),
  exportName: z.string(),
  description: z.string().nullable(),
  startedBy: z.array(z.string()),
  steps: z.array(sagaStep)
})
export type SagaDescriptor = z.infer<typeof sagaDescriptor>

/** A definition problem: a step that can neither be undone nor is marked as the point of no return. */
export const sagaProblem = z.object({ saga: z.string(), step: z.string().nullable(), file: z.string(), message: z.string() })
export type SagaProblem = z.infer<typeof sagaProblem>

export const sagaStatus = z.enum(['running', 'completed', 'compensating', 'compensated', 'parked'])
export type SagaStatus = z.infer<typeof sagaStatus>

export const stepState = z.enum(['pending', 'sent', 'completed', 'failed', 'compensating', 'compensated', 'skipped'])
export type StepState = z.infer<typeof stepState>

/** One instance: its saga stream, where it is, and each step's state. */
export const sagaInstance = z.object({
  /** The saga stream: saga-<name>-<id>. */
  streamId: z.string(),
  saga: z.string(),
  id: z.string(),
  correlationId: z.string(),
  status: sagaStatus,
  /** The step in progress (sent, waiting or retrying), if any. */
  current: z.string().nullable(),
  steps: z.record(z.string(), z.object({ state: stepState, attempts: z.number().int() })),
  startedAt: z.number(),
  updatedAt: z.number(),
  /** When the step in progress times out, or is retried (engine clock). */
  deadline: z.number().nullable(),
  /** Why the instance is parked or was compensated. */
  reason: z.string().nullable(),
  version: z.number().int()
})
export type SagaInstance = z.infer<typeof sagaInstance>

/** A fault to inject into the next instance of a saga (or a given one): a step's command rejected, or never answered. */
export const sagaFault = z.object({
  saga: z.string(),
  step: z.string(),
  kind: z.enum(['reject', 'timeout', 'fail-compensation']),
  /** Default: the next instance that starts. */
  instance: z.string().optional()
})
export type SagaFault = z.infer<typeof sagaFault>

/** Events linked by what caused them: a command sent because of one event produced the next ones. */
export const causationGraph = z.object({
  correlationId: z.string(),
  nodes: z.array(z.object({ id: z.string(), event: recordedEvent })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), command: z.string().nullable(), commandId: z.string().nullable() })),
  truncated: z.boolean()
})
export type CausationGraph = z.infer<typeof causationGraph>

export const branchInject = z.discriminatedUnion('kind', [
  /** Append this event to the branch (a payment declined, a shipment lost...). */
  z.object({ kind: z.literal('event'), streamId: z.string().min(1).max(200), type: z.string().min(1), data: z.record(z.string(), z.unknown()).default({}), correlationId: z.string().optional() }),
  /** Move the branch's clock on, so deadlines pass. */
  z.object({ kind: z.literal('advance-clock'), ms: z.number().int().min(1) })
])

export const branchReport = z.object({
  position: z.number().int(),
  /** The branch's folder (a scratch copy; the workspace's log is not touched). */
  dir: z.string(),
  injected: z.string(),
  /** Instances whose status or step changed on the branch. */
  changed: z.array(z.object({ before: sagaInstance.nullable(), after: sagaInstance })),
  /** What the sagas appended on the branch after the injection. */
  appended: z.array(recordedEvent)
})
export type BranchReport = z.infer<typeof branchReport>

export const sagasService = defineService({
  methods: {
    /** The workspace's sagas with their steps, and the definition checks. */
    /** The sagas, their definition problems, and the last errors the coordinator met outside a step (newest last). */
    list: method('Lists the sagas and their definition problems', z.void(), z.object({ sagas: z.array(sagaDescriptor), problems: z.array(sagaProblem), errors: z.array(z.string()).default([]) })),
    /** Instances, newest first, filtered by saga and status. */
    instances: method(
      'Lists saga instances',
      z.object({ saga: z.string().optional(), status: sagaStatus.optional(), limit: z.number().int().min(1).max(1000).default(200) }),
      z.object({ instances: z.array(sagaInstance), total: z.number().int(), counts: z.record(z.string(), z.number().int()) })
    ),
    /** One instance and its saga stream. */
    instance: method('One saga instance with its timeline', z.object({ streamId: z.string() }), z.object({ instance: sagaInstance, timeline: z.array(recordedEvent) })),
    /** Arms a fault for the next instance of a saga (or a given running one). */
    injectFault: method('Injects a fault into a saga step', sagaFault, z.object({ armed: z.array(sagaFault) })),
    /** The faults armed for the next instances and those bound to running ones. */
    faults: method('Lists the armed faults', z.void(), z.object({ armed: z.array(sagaFault) })),
    /** Disarms the faults of a saga (all sagas when none is named). */
    clearFaults: method('Disarms injected faults', z.object({ saga: z.string().optional() }), z.object({ armed: z.array(sagaFault) })),
    /** The engine's clock, without moving it. */
    clock: method('Reads the saga clock', z.void(), z.object({ now: z.number(), offsetMs: z.number() })),
    /** Moves the engine's clock on (deadlines and retries follow it). */
    advanceClock: method('Advances the saga clock', z.object({ ms: z.number().int().min(1).max(365 * 86_400_000) }), z.object({ now: z.number(), offsetMs: z.number() })),
    /** The causation graph of one correlation id (sagas written as choreography, or any flow). */
    choreography: method('Follows a correlation id across streams', z.object({ correlationId: z.string().min(1), limit: z.number().int().min(1).max(5000).default(500) }), causationGraph),
    /** Forks the log at a position into a scratch copy, injects there, runs the sagas; a job whose result is a BranchReport. */
    startBranch: method('Branches the log and injects a failure', z.object({ position: z.number().int().min(0), inject: branchInject }), jobInfo)
  },
  events: {
    /** An instance started, moved or ended. */
    instance: event('A saga instance changed', sagaInstance),
    /** The coordinator met an error outside a step (a saga's correlate throwing, say): the last ones, newest last. */
    errors: event('The coordinator met an error', z.object({ errors: z.array(z.string()) }))
  }
})
