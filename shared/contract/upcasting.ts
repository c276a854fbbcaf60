import { z } from 'zod'
import { defineService, method } from '../rpc/contract'
import { jsonObject, recordedEvent } from '../model/events'
import { jobInfo } from './jobs'

const count = z.number().int().min(0)

/** One step of an event type's evolution, as a definition file declares it. */
export const upcasterStep = z.object({
  file: z.string(),
  exportName: z.string(),
  eventType: z.string(),
  fromVersion: z.number().int(),
  toVersion: z.number().int(),
  /** The new type name, for a rename. */
  toType: z.string().nullable(),
  /** One stored event becomes several. */
  split: z.boolean(),
  description: z.string().nullable()
})
export type UpcasterStep = z.infer<typeof upcasterStep>

/** A chain the registry refuses (a gap, two steps for one version, a loop), on the file that causes it. */
export const upcasterProblem = z.object({ file: z.string(), exportName: z.string(), eventType: z.string().nullable(), message: z.string() })

export const upcasterRegistry = z.object({ steps: z.array(upcasterStep), problems: z.array(upcasterProblem) })
export type UpcasterRegistry = z.infer<typeof upcasterRegistry>

/** Per stored type and schema version: what the upcasters did to its events. */
export const dryRunCount = z.object({
  type: z.string(),
  schemaVersion: z.number().int(),
  transformed: count,
  unchanged: count,
  failed: count,
  /** Events whose result does not look like the newest version of its type in the log. */
  mismatched: count
})

export const dryRunFailure = z.object({
  position: z.number().int(),
  streamId: z.string(),
  type: z.string(),
  schemaVersion: z.number().int(),
  message: z.string(),
  /** Where in the user's code (the upcaster) it failed. */
  file: z.string().nullable(),
  line: z.number().int().nullable(),
  column: z.number().int().nullable(),
  data: jsonObject
})
export type DryRunFailure = z.infer<typeof dryRunFailure>

export const dryRunReport = z.object({
  /** Stored events read (of the types that have upcasters). */
  events: count,
  durationMs: z.number(),
  problems: z.array(upcasterProblem),
  counts: z.array(dryRunCount),
  failures: z.array(dryRunFailure),
  /** A stored event and what it reads as, one or a few per stored type and version. */
  samples: z.array(z.object({ before: recordedEvent, after: z.array(recordedEvent) })),
  mismatches: z.array(z.object({ before: recordedEvent, after: recordedEvent, reasons: z.array(z.string()) })),
  /** The newest stored version of each type the results were compared with. */
  newest: z.array(z.object({ type: z.string(), schemaVersion: z.number().int() })),
  /** No failures, no mismatches and no refused chains. */
  ok: z.boolean()
})
export type DryRunReport = z.infer<typeof dryRunReport>

export const migrationReport = z.object({
  /** The new workspace folder. */
  target: z.string(),
  eventsBefore: count,
  eventsAfter: count,
  streams: count,
  durationMs: z.number(),
  /** Streams whose event count in the new store is not the old count plus what splits added. */
  streamMismatches: z.array(z.object({ streamId: z.string(), expected: count, actual: count })),
  /** Upcast events that would not read back from the store as they were read in memory (NaN, a Date...). */
  unstable: z.array(z.object({ position: z.number().int(), streamId: z.string(), type: z.string(), reason: z.string() })),
  /** Every projection rebuilt on the old store (reading through the upcasters) and on the new one. */
  projections: z.array(z.object({ name: z.string(), equal: z.boolean(), differences: z.array(z.string()), note: z.string().optional() })),
  /** Verification passed: the workspace may switch to the new store. */
  verified: z.boolean()
})
export type MigrationReport = z.infer<typeof migrationReport>

const pageInput = z.object({
  streamId: z.string().min(1).max(200),
  from: z.number().int().min(1).default(1),
  limit: z.number().int().min(1).max(1000).default(100)
})

export const upcastersService = defineService({
  methods: {
    /** The workspace's upcaster steps and the chains it refuses. */
    registry: method('Lists the upcaster steps and refused chains', z.void(), upcasterRegistry),
    /** A stream's events as every reader gets them, through the upcasters (the stored ones: store.readStream). */
    readStream: method(
      'Reads a stream through the upcasters',
      pageInput,
      z.object({ streamId: z.string(), events: z.array(recordedEvent), version: z.number().int(), next: z.number().int().nullable() })
    ),
    /** Runs the upcasters over every stored event of their types, as a job; the report is the job's result. */
    startDryRun: method('Starts a dry-run of the upcasters over the log', z.object({ types: z.array(z.string()).optional() }), jobInfo),
    /**
     * Writes a new workspace at `target` (an empty or missing folder) with every event upcast, verifies it, and
     * reports; the current workspace is not changed.
     */
    startMigration: method('Starts a copy-and-transform migration into a new workspace', z.object({ target: z.string().min(1).max(1000) }), jobInfo),
    /** Opens a migrated, verified workspace in place of this one (the old folder is kept). */
    switchTo: method('Switches to a migrated workspace', z.object({ target: z.string().min(1).max(1000) }), z.object({ dir: z.string() }))
  },
  events: {}
})
