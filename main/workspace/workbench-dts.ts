/**
 * The declarations of the `workbench` module for the editor (Monaco's TypeScript worker). They describe the same
 * API as main/sandbox/runtime/workbench-module.ts, with a small typed subset of zod. A test compiles the demo
 * workspace against them, so they cannot drift from what definition files use.
 */
export const WORKBENCH_DTS = `declare module 'workbench/zod' {
  export interface ZodType<Out = unknown, In = Out> {
    readonly _output: Out
    readonly _input: In
    optional(): ZodType<Out | undefined, In | undefined>
    nullable(): ZodType<Out | null, In | null>
    nullish(): ZodType<Out | null | undefined, In | null | undefined>
    default(value: Out): ZodType<Out, In | undefined>
    describe(description: string): this
    refine(check: (value: Out) => boolean, message?: string | { message?: string }): this
    array(): ZodArray<ZodType<Out, In>>
    readonly description?: string
  }
  export interface ZodString extends ZodType<string> {
    min(length: number, message?: string): ZodString
    max(length: number, message?: string): ZodString
    length(length: number, message?: string): ZodString
    regex(pattern: RegExp, message?: string): ZodString
    email(message?: string): ZodString
    uuid(message?: string): ZodString
    url(message?: string): ZodString
    startsWith(prefix: string, message?: string): ZodString
    trim(): ZodString
    nonempty(message?: string): ZodString
  }
  export interface ZodNumber extends ZodType<number> {
    int(message?: string): ZodNumber
    positive(message?: string): ZodNumber
    nonnegative(message?: string): ZodNumber
    negative(message?: string): ZodNumber
    min(value: number, message?: string): ZodNumber
    max(value: number, message?: string): ZodNumber
    gt(value: number, message?: string): ZodNumber
    gte(value: number, message?: string): ZodNumber
    lt(value: number, message?: string): ZodNumber
    lte(value: number, message?: string): ZodNumber
    multipleOf(value: number, message?: string): ZodNumber
  }
  export interface ZodArray<T extends ZodType> extends ZodType<Array<output<T>>, Array<input<T>>> {
    min(length: number, message?: string): ZodArray<T>
    max(length: number, message?: string): ZodArray<T>
    nonempty(message?: string): ZodArray<T>
    length(length: number, message?: string): ZodArray<T>
  }
  type Shape = Record<string, ZodType<any, any>>
  type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends output<S[K]> ? K : never }[keyof S]
  type Flat<T> = { [K in keyof T]: T[K] }
  type ObjectOutput<S extends Shape> = Flat<{ [K in Exclude<keyof S, OptionalKeys<S>>]: output<S[K]> } & { [K in OptionalKeys<S>]?: output<S[K]> }>
  export interface ZodObject<S extends Shape> extends ZodType<ObjectOutput<S>> {
    readonly shape: S
    strict(): ZodObject<S>
    passthrough(): ZodObject<S>
    partial(): ZodObject<{ [K in keyof S]: ZodType<output<S[K]> | undefined> }>
    extend<E extends Shape>(extra: E): ZodObject<Omit<S, keyof E> & E>
    pick<K extends keyof S>(keys: { [P in K]: true }): ZodObject<Pick<S, K>>
    omit<K extends keyof S>(keys: { [P in K]: true }): ZodObject<Omit<S, K>>
  }
  export type output<T> = T extends ZodType<infer O, any> ? O : never
  export type input<T> = T extends ZodType<any, infer I> ? I : never
  export type { output as infer }
  export function string(message?: string): ZodString
  export function number(message?: string): ZodNumber
  export function int(message?: string): ZodNumber
  export function boolean(): ZodType<boolean>
  export function literal<T extends string | number | boolean | null>(value: T): ZodType<T>
  function enum_<const T extends readonly [string, ...string[]]>(values: T): ZodType<T[number]>
  export { enum_ as enum }
  export function array<T extends ZodType<any, any>>(item: T): ZodArray<T>
  export function object<S extends Shape>(shape: S): ZodObject<S>
  export function strictObject<S extends Shape>(shape: S): ZodObject<S>
  export function union<T extends readonly ZodType<any, any>[]>(options: T): ZodType<output<T[number]>>
  export function discriminatedUnion<T extends readonly ZodType<any, any>[]>(key: string, options: T): ZodType<output<T[number]>>
  export function record<V extends ZodType<any, any>>(key: ZodType<string>, value: V): ZodType<Record<string, output<V>>>
  export function optional<T extends ZodType<any, any>>(inner: T): ZodType<output<T> | undefined>
  export function nullable<T extends ZodType<any, any>>(inner: T): ZodType<output<T> | null>
  export function unknown(): ZodType<unknown>
  export function any(): ZodType<any>
  export function uuid(message?: string): ZodString
  export function email(message?: string): ZodString
}

declare module 'workbench' {
  import * as z from 'workbench/zod'
  /** Filled in from the workspace's own log: event type → { schemaVersion, data }. */
  export interface EventCatalog {}

  type CatalogEvent = {
    [K in keyof EventCatalog]: EventCatalog[K] extends infer V ? (V extends { data: infer D; schemaVersion: infer S } ? { type: K; data: D; schemaVersion: S } : never) : never
  }[keyof EventCatalog]

  interface EventCommon {
    metadata: Record<string, unknown> | null
    streamId: string
    version: number
    position: number
    recordedAt: number
  }

  /** An event as user code receives it: one of the types found in the log, or any event. */
  export type WorkbenchEvent = [CatalogEvent] extends [never]
    ? EventCommon & { type: string; data: any; schemaVersion: number }
    : EventCommon & CatalogEvent

  /** An event as decide returns it. */
  export interface NewEvent {
    type: string
    data: Record<string, unknown>
    metadata?: Record<string, unknown>
    schemaVersion?: number
  }

  export interface CommandMetadata {
    commandId: string
    correlationId: string
    causationId?: string
    idempotencyKey?: string
    [key: string]: unknown
  }

  type CommandOf<C extends Record<string, z.ZodType<any, any>>> = { [K in keyof C & string]: { type: K; data: z.infer<C[K]>; metadata: CommandMetadata } }[keyof C & string]

  export interface DeciderConfig<State, C extends Record<string, z.ZodType<any, any>>> {
    name: string
    /** Streams of this decider are named \\\`<streamPrefix>-<id>\\\`. */
    streamPrefix: string
    description?: string
    /** Command name → the schema of its data. */
    commands: C
    /** Which stream a command goes to; by default \\\`<streamPrefix>-<data.id>\\\`. */
    streamId?: (command: { type: keyof C & string; data: z.infer<C[keyof C]> }) => string
    initialState: () => State
    evolve: (state: State, event: WorkbenchEvent) => State
    decide: (command: CommandOf<C>, state: State) => NewEvent | NewEvent[]
    /** Take a snapshot every N events when replaying. */
    snapshotEvery?: number
  }

  export interface Decider<State = unknown, C extends Record<string, z.ZodType<any, any>> = Record<string, z.ZodType<any, any>>> extends DeciderConfig<State, C> {
    readonly kind: 'decider'
  }

  export function defineDecider<State, C extends Record<string, z.ZodType<any, any>> = Record<string, z.ZodType<any, any>>>(config: DeciderConfig<State, C>): Decider<State, C>
  type ColumnType = 'text' | 'integer' | 'real' | 'json'
  type Columns = Record<string, ColumnType>
  type ColumnValue<T extends ColumnType> = T extends 'text' ? string : T extends 'integer' | 'real' ? number : any
  /** A table's rows: declared columns, typed by their column type. */
  export type RowOf<C extends Columns> = { [K in keyof C]?: ColumnValue<C[K]> | null }
  export interface TableConfig<C extends Columns = Columns> {
    columns: C
    /** The columns that identify a row. */
    key: Array<keyof C & string>
    /** Secondary indexes: queries may filter and sort on their first column. */
    indexes?: Array<Array<keyof C & string>>
  }
  type Key = string | number | Array<string | number> | Record<string, string | number>
  /** Writes and reads of a handler; reads see the batch's own earlier writes. */
  export interface ProjectionContext<T extends Record<string, TableConfig<any>>> {
    upsert<N extends keyof T & string>(table: N, row: RowOf<T[N]['columns']>): void
    /** Merges a patch into an existing row; false when there is none. */
    update<N extends keyof T & string>(table: N, key: Key, patch: RowOf<T[N]['columns']>): boolean
    delete<N extends keyof T & string>(table: N, key: Key): void
    get<N extends keyof T & string>(table: N, key: Key): { [K in keyof T[N]['columns']]: ColumnValue<T[N]['columns'][K]> } | undefined
    query<N extends keyof T & string>(table: N, options?: { where?: RowOf<T[N]['columns']>; index?: string[]; limit?: number }): Array<{ [K in keyof T[N]['columns']]: ColumnValue<T[N]['columns'][K]> }>
  }
  /** A named query's condition on one column: a value (equal), null (no value), or comparisons that all hold. */
  export type ColumnFilter<V> = V | null | { eq?: V; ne?: V; gt?: V; gte?: V; lt?: V; lte?: V; contains?: string; in?: V[] }
  export interface QueryPlanner<T extends Record<string, TableConfig<any>>> {
    table<N extends keyof T & string>(
      name: N,
      options?: { where?: { [K in keyof T[N]['columns']]?: ColumnFilter<ColumnValue<T[N]['columns'][K]>> }; orderBy?: keyof T[N]['columns'] & string; direction?: 'asc' | 'desc' }
    ): unknown
  }
  export interface ProjectionConfig<T extends Record<string, TableConfig<any>>, Q extends Record<string, z.ZodType<any, any>>> {
    name: string
    description?: string
    /** Which events reach the handlers: the whole log, some stream categories, or some event types. */
    from?: 'all' | { categories: string[] } | { eventTypes: string[] }
    /**
     * 'async' (the default): a runner follows the log after each append. 'inline': updated in the same
     * transaction as each append the workbench makes, so a command's effects are in the read model when it
     * returns; a handler that throws refuses the append.
     */
    lifecycle?: 'inline' | 'async'
    tables: T
    handlers: { [type: string]: (event: WorkbenchEvent, ctx: ProjectionContext<T>) => void }
    queries?: { [K in keyof Q]: { input: Q[K]; description?: string; run: (input: z.infer<Q[K]>, q: QueryPlanner<T>) => unknown } }
  }
  export function defineProjection<const T extends Record<string, TableConfig<any>>, Q extends Record<string, z.ZodType<any, any>> = {}>(config: ProjectionConfig<T, Q>): ProjectionConfig<T, Q> & { readonly kind: 'projection' }
  type VersionsOf<T> = T extends keyof EventCatalog ? EventCatalog[T] : never
  /** The data of a stored event type at one schema version, as found in the log (any shape when the log has none). */
  export type EventData<T extends string, V extends number> = [Extract<VersionsOf<T>, { schemaVersion: V }>] extends [never]
    ? Record<string, any>
    : Extract<VersionsOf<T>, { schemaVersion: V }> extends { data: infer D } ? D : never
  /** One step of an event type's evolution: reads the stored data of fromVersion and returns the data of toVersion. */
  export interface UpcasterConfig<T extends string, F extends number, V extends number, R extends string> {
    /** The stored event type this step reads. */
    eventType: T
    fromVersion: F
    toVersion: V
    /** Renames the event: the new type name (the chain goes on with that type's steps). */
    toType?: R
    description?: string
    split?: false
    upcast(data: EventData<T, F>, metadata: Record<string, unknown>): EventData<R, V>
  }
  /** A step that turns one stored event into several. */
  export interface SplitUpcasterConfig<T extends string, F extends number> {
    eventType: T
    fromVersion: F
    /** The schema version of the parts that do not say their own. */
    toVersion: number
    split: true
    description?: string
    upcast(data: EventData<T, F>, metadata: Record<string, unknown>): Array<{ type: string; data: Record<string, unknown>; schemaVersion?: number }>
  }
  export function defineUpcaster<const T extends string, const F extends number, const V extends number, const R extends string = T>(
    config: UpcasterConfig<T, F, V, R>
  ): UpcasterConfig<T, F, V, R> & { readonly kind: 'upcaster' }
  export function defineUpcaster<const T extends string, const F extends number>(config: SplitUpcasterConfig<T, F>): SplitUpcasterConfig<T, F> & { readonly kind: 'upcaster' }
  /** A command a saga sends through the command bus. */
  export interface SagaCommand {
    decider: string
    command: string
    data: Record<string, unknown>
  }
  /** What a step's action and compensation get: the instance id, the event that started it, completed steps' events. */
  export interface SagaContext {
    id: string
    start: WorkbenchEvent
    results: Record<string, WorkbenchEvent | null>
  }
  export interface SagaStepConfig {
    name: string
    description?: string
    /** The command(s) the step sends. */
    action: (ctx: SagaContext) => SagaCommand | SagaCommand[]
    /** Event type(s) that complete the step (when absent, the accepted command completes it). */
    onSuccess?: string | string[]
    /** Event type(s) that fail it; a rejected command and the deadline fail it too. */
    onFailure?: string | string[]
    /** Undoes the step when a later one fails. */
    compensate?: (ctx: SagaContext) => SagaCommand | SagaCommand[]
    /** Milliseconds, or '30s', '5m', '2h', '1d' (default 5 minutes), on the engine's clock. */
    timeout?: number | string
    /** Tries again after a failure, waiting backoff, then twice as long, and so on. */
    retries?: { max: number; backoff?: number | string }
    /** The step cannot be undone: a failure after it parks the instance instead of compensating what came before. */
    pointOfNoReturn?: boolean
  }
  export interface SagaConfig {
    name: string
    description?: string
    /** Event type(s) that start an instance. */
    startedBy: string | string[]
    /** The instance an event belongs to (default: its correlation id). */
    correlate?: (event: WorkbenchEvent) => string | number | undefined | null
    steps: SagaStepConfig[]
  }
  export function defineSaga<T extends SagaConfig>(config: T): T & { readonly kind: 'saga' }

  /** Refuses a command because a business rule says no: \\\`reject('NoNegativeStock', 'Only 2 left of sku-1')\\\`. */
  export function reject(rule: string, message: string): never

  export class RuleViolation extends Error {
    readonly rule: string
    constructor(rule: string, message: string)
  }

  /** zod (a typed subset for the editor; at run time it is the whole of zod 4). */
  export * as z from 'workbench/zod'
}
`
