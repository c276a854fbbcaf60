import { z } from 'zod'

/**
 * The `workbench` module as user code sees it at run time. It is bundled (with zod) into every sandbox context,
 * and is also what a definition file gets when it runs in plain Node (tests, benchmarks).
 */

export { z }

type AnyEvent = { type: string; data: Record<string, unknown>; metadata?: Record<string, unknown> | null; schemaVersion?: number }

export interface DeciderConfig<State> {
  name: string
  /** Streams of this decider are named `<streamPrefix>-<id>`. */
  streamPrefix: string
  /** Command name → schema of its data. */
  commands: Record<string, z.ZodType>
  /** Which stream a command goes to; by default `<streamPrefix>-<data.id>`. */
  streamId?: (command: { type: string; data: Record<string, unknown> }) => string
  initialState: () => State
  evolve: (state: State, event: { type: string; data: Record<string, unknown>; [key: string]: unknown }) => State
  decide: (command: { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }, state: State) => AnyEvent | AnyEvent[]
  /** Take a snapshot every N events (replay). */
  snapshotEvery?: number
  description?: string
}

export interface Decider<State = unknown> extends DeciderConfig<State> {
  readonly kind: 'decider'
}

export function defineDecider<State>(config: DeciderConfig<State>): Decider<State> {
  return { ...config, kind: 'decider' }
}

export function defineProjection<T extends object>(config: T): T & { readonly kind: 'projection' } {
  return { ...config, kind: 'projection' as const }
}

export function defineUpcaster<T extends object>(config: T): T & { readonly kind: 'upcaster' } {
  return { ...config, kind: 'upcaster' as const }
}

export function defineSaga<T extends object>(config: T): T & { readonly kind: 'saga' } {
  return { ...config, kind: 'saga' as const }
}

/** Thrown by `reject`: a business rule refused a command. */
export class RuleViolation extends Error {
  readonly rule: string
  constructor(rule: string, message: string) {
    super(message)
    this.name = 'RuleViolation'
    this.rule = rule
  }
}

/** Refuses a command: `reject('NoNegativeStock', 'Only 2 left of sku-1')`. */
export function reject(rule: string, message: string): never {
  throw new RuleViolation(rule, message)
}
