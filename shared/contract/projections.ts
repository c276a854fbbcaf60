import { z } from 'zod'
import { defineService, event, method } from '../rpc/contract'

export const columnType = z.enum(['text', 'integer', 'real', 'json'])
export type ColumnType = z.infer<typeof columnType>

export const tableDef = z.object({
  columns: z.record(z.string(), columnType),
  key: z.array(z.string()).min(1),
  indexes: z.array(z.array(z.string()).min(1)).default([])
})
export type TableDef = z.infer<typeof tableDef>

export const projectionSource = z.union([
  z.literal('all'),
  z.object({ categories: z.array(z.string()).min(1) }),
  z.object({ eventTypes: z.array(z.string()).min(1) })
])
export type ProjectionSource = z.infer<typeof projectionSource>

/** What the engine knows of a projection from its definition file. */
export const projectionDescriptor = z.object({
  name: z.string(),
  file: z.string(),
  exportName: z.string(),
  description: z.string().nullable(),
  from: projectionSource,
  /** inline: updated in the transaction of each append the workbench makes; async: follows the log after it. */
  lifecycle: z.enum(['inline', 'async']).default('async'),
  tables: z.record(z.string(), tableDef),
  /** Event types that have a handler. */
  handles: z.array(z.string()),
  /** The stored event types the projection selects: those it handles and those upcasters turn into them. */
  reads: z.array(z.string()).default([]),
  queries: z.array(z.object({ name: z.string(), description: z.string().nullable(), schema: z.unknown() }))
})
export type ProjectionDescriptor = z.infer<typeof projectionDescriptor>

export const projectionState = z.enum(['running', 'paused', 'caught-up', 'rebuilding', 'faulted'])
export type ProjectionState = z.infer<typeof projectionState>

/** The event a handler failed on, and where in the user's code. */
export const projectionFault = z.object({
  position: z.number().int(),
  streamId: z.string(),
  type: z.string(),
  message: z.string(),
  file: z.string().nullable(),
  line: z.number().int().nullable(),
  column: z.number().int().nullable(),
  at: z.number()
})
export type ProjectionFault = z.infer<typeof projectionFault>

/** In a PostgreSQL workspace, how the server's copy of a projection's read model stands. */
export const publishedState = z.object({
  /**
   * published: the server holds what this workbench committed; behind: commits (or a job) wait to be published;
   * waiting: the server holds a later position than this working copy has reached; other-code: the server's copy
   * was built by other code, which a rebuild or reset here replaces; rebuild-needed: this copy's rows were built or
   * added to by other code than is loaded now; refused: the server refused it for good (see error; new code, a
   * rebuild or a reset tries again); error: the server could not be reached (tried again).
   */
  state: z.enum(['published', 'behind', 'waiting', 'other-code', 'rebuild-needed', 'refused', 'error']),
  /** The server's checkpoint for the projection, as last seen. */
  position: z.number().int().nullable(),
  error: z.string().nullable(),
  publishedAt: z.number().nullable(),
  /** Since the workbench started: batches published one by one, whole copies, failed attempts. */
  batches: z.number().int(),
  wholeCopies: z.number().int(),
  failures: z.number().int()
})
export type PublishedState = z.infer<typeof publishedState>

export const projectionStatus = z.object({
  name: z.string(),
  file: z.string(),
  lifecycle: z.enum(['inline', 'async']),
  state: projectionState,
  /** Last log position whose effects are in the read model. */
  position: z.number().int(),
  headPosition: z.number().int(),
  lagEvents: z.number().int(),
  /** How long ago the oldest event not yet projected was recorded (0 when caught up). */
  lagMs: z.number(),
  /** Events per second over the last batches. */
  throughput: z.number(),
  fault: projectionFault.nullable(),
  /** A rebuild or shadow job in progress. */
  job: z.object({ kind: z.string(), done: z.number(), total: z.number().nullable(), paused: z.boolean().default(false) }).nullable(),
  /** The shadow run: its position, whether it finished, and the event it faulted on (if it did). */
  shadow: z.object({ position: z.number().int(), ready: z.boolean(), fault: projectionFault.nullable() }).nullable(),
  tables: z.array(z.object({ name: z.string(), sqlName: z.string(), rows: z.number().int() })),
  /** Null in a SQLite workspace. */
  server: publishedState.nullable().default(null)
})
export type ProjectionStatus = z.infer<typeof projectionStatus>

export const rowDiff = z.object({
  table: z.string(),
  added: z.number().int(),
  removed: z.number().int(),
  changed: z.number().int(),
  unchanged: z.number().int(),
  samples: z.object({
    added: z.array(z.record(z.string(), z.unknown())),
    removed: z.array(z.record(z.string(), z.unknown())),
    changed: z.array(z.object({ before: z.record(z.string(), z.unknown()), after: z.record(z.string(), z.unknown()) }))
  })
})
export type RowDiff = z.infer<typeof rowDiff>

export const checkResult = z.object({
  check: z.enum(['determinism', 'idempotency']),
  passed: z.boolean(),
  eventsChecked: z.number().int(),
  /** The first event after which the two runs differ. */
  firstOffending: z.object({ position: z.number().int(), streamId: z.string(), type: z.string() }).nullable(),
  differences: z.array(rowDiff)
})
export type CheckResult = z.infer<typeof checkResult>

export const filterOp = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.object({
    eq: z.unknown().optional(),
    ne: z.unknown().optional(),
    gt: z.union([z.string(), z.number()]).optional(),
    gte: z.union([z.string(), z.number()]).optional(),
    lt: z.union([z.string(), z.number()]).optional(),
    lte: z.union([z.string(), z.number()]).optional(),
    contains: z.string().optional(),
    in: z.array(z.union([z.string(), z.number()])).max(1000).optional()
  })
])

export const pageRequest = z.object({
  projection: z.string(),
  table: z.string(),
  /** A column that is the first of the key or of an index. */
  orderBy: z.string().optional(),
  direction: z.enum(['asc', 'desc']).default('asc'),
  where: z.record(z.string(), filterOp).default({}),
  /** The `next` of the previous page. */
  after: z.string().nullable().optional(),
  limit: z.number().int().min(1).max(5000).default(200),
  /** Also count the rows that match (costs a scan on large tables). */
  withTotal: z.boolean().default(false),
  /** Read the shadow tables instead of the live ones. */
  shadow: z.boolean().default(false)
})
export type PageRequest = z.input<typeof pageRequest>

/** How far behind the log a read is. */
export const lagInfo = z.object({ position: z.number().int(), headPosition: z.number().int(), lagEvents: z.number().int() })

export const rowsPage = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.record(z.string(), z.unknown())),
  next: z.string().nullable(),
  total: z.number().int().nullable(),
  lag: lagInfo
})
export type RowsPage = z.infer<typeof rowsPage>

const byName = z.object({ projection: z.string() })

export const projectionsService = defineService({
  methods: {
    /** Every projection of the workspace with its status. */
    list: method('Lists projections with status, position, lag and throughput', z.void(), z.array(projectionStatus)),
    /** One projection's descriptor (tables, handlers, queries) and status. */
    describe: method('A projection: its definition and status', byName, z.object({ descriptor: projectionDescriptor, status: projectionStatus })),
    /** Rebuilds from position 0 as a job off the main thread (replaces the live tables when it finishes). */
    rebuild: method('Rebuilds a projection from zero as a job', byName, projectionStatus),
    /** Stops following the log; during a rebuild, shadow run or catch-up, holds that job between two batches. */
    pause: method('Pauses a projection', byName, projectionStatus),
    resume: method('Resumes a paused projection', byName, projectionStatus),
    /** Empties the read model and starts again from position 0. */
    reset: method('Empties the read model and starts over', byName, projectionStatus),
    /** Runs the poison event again (after a code fix). */
    retry: method('Retries the event a faulted projection failed on', byName, projectionStatus),
    /** Cancels a projection's running job (rebuild, shadow run or check); the live tables stay as they were. */
    cancel: method('Cancels the running job of a projection', byName, projectionStatus),
    /** Moves past the poison event without applying it. */
    skip: method('Skips the event a faulted projection failed on', byName, projectionStatus),
    /** Rebuilds into shadow tables next to the live ones. */
    shadowStart: method('Rebuilds a projection into shadow tables', byName, projectionStatus),
    /** Row-level differences between shadow and live tables. */
    shadowDiff: method('Compares the shadow tables with the live ones', z.object({ projection: z.string(), samples: z.number().int().min(0).max(100).default(10) }), z.array(rowDiff)),
    /** Replaces the live tables with the shadow ones, atomically. */
    shadowPromote: method('Promotes the shadow tables to live', byName, projectionStatus),
    shadowDiscard: method('Drops the shadow tables', byName, projectionStatus),
    /** Determinism (rebuild twice) or idempotency (every event twice), in a job. */
    check: method('Runs a determinism or idempotency check', z.object({ projection: z.string(), check: z.enum(['determinism', 'idempotency']) }), checkResult),
    /** A page of a read-model table (keyset paging, sort on indexed columns, filters). */
    page: method('A page of rows of a read-model table', pageRequest, rowsPage),
    /** Runs a named query of a projection; the input is validated by the query's schema. */
    runQuery: method(
      'Runs a named query against the read model',
      z.object({ projection: z.string(), query: z.string(), input: z.unknown(), after: z.string().nullable().optional(), limit: z.number().int().min(1).max(5000).default(200) }),
      rowsPage
    )
  },
  events: {
    /** A projection's status changed (state, position, lag, fault). */
    status: event('A projection status changed', projectionStatus),
    /** Progress of a rebuild, shadow run or check. */
    progress: event('Progress of a projection job', z.object({ projection: z.string(), kind: z.string(), done: z.number(), total: z.number().nullable() }))
  }
})
