import type { SagaDef } from '../../sagas/saga-runtime'
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

type ColumnType = 'text' | 'integer' | 'real' | 'json'
type ProjectionRow = Record<string, unknown>
type ProjectionKey = string | number | Array<string | number> | Record<string, string | number>

/** What a projection handler writes and reads through; reads see the batch's own earlier writes. */
export interface ProjectionContext {
  upsert(table: string, row: ProjectionRow): void
  update(table: string, key: ProjectionKey, patch: ProjectionRow): boolean
  delete(table: string, key: ProjectionKey): void
  get(table: string, key: ProjectionKey): ProjectionRow | undefined
  query(table: string, options?: { where?: Record<string, unknown>; index?: string[]; limit?: number }): ProjectionRow[]
}

export interface ProjectionConfig {
  name: string
  description?: string
  from?: 'all' | { categories: string[] } | { eventTypes: string[] }
  lifecycle?: 'inline' | 'async'
  tables: Record<string, { columns: Record<string, ColumnType>; key: string[]; indexes?: string[][] }>
  handlers: Record<string, (event: { type: string; data: Record<string, unknown>; [key: string]: unknown }, ctx: ProjectionContext) => void>
  queries?: Record<string, { input?: z.ZodType; description?: string; run: (input: never, q: { table(name: string, options?: { where?: Record<string, unknown>; orderBy?: string; direction?: 'asc' | 'desc' }): unknown }) => unknown }>
}

export function defineProjection<T extends ProjectionConfig>(config: T): T & { readonly kind: 'projection' } {
  return { ...config, kind: 'projection' as const }
}

export interface UpcasterConfig {
  eventType: string
  fromVersion: number
  toVersion: number
  toType?: string
  split?: boolean
  description?: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the stored data of any event type
  upcast: (data: Record<string, any>, metadata: Record<string, unknown>) => unknown
}

export function defineUpcaster<T extends UpcasterConfig>(config: T): T & { readonly kind: 'upcaster' } {
  return { ...config, kind: 'upcaster' as const }
}

export function defineSaga<T extends Omit<SagaDef, 'kind'>>(config: T): T & { readonly kind: 'saga' } {
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
