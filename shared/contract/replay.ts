import { z } from 'zod'
import { defineService, method } from '../rpc/contract'
import { recordedEvent, streamId } from '../model/events'
import { jobInfo } from './jobs'

/** Where to stop: after a stream version, at a global position, or at a time (UTC ms or ISO). */
export const replayPoint = z.union([
  z.object({ version: z.number().int().min(0) }),
  z.object({ position: z.number().int().min(0) }),
  z.object({ time: z.union([z.number().int(), z.iso.datetime()]) })
])
export type ReplayPoint = z.infer<typeof replayPoint>

/** One field-level change between two states; `path` as segments, e.g. ['items', 'sku-1', 'quantity']. */
export const fieldChange = z.object({
  kind: z.enum(['added', 'removed', 'changed']),
  path: z.array(z.union([z.string(), z.number()])),
  before: z.unknown().optional(),
  after: z.unknown().optional()
})
export type FieldChange = z.infer<typeof fieldChange>

export const eventRef = z.object({ position: z.number().int(), version: z.number().int(), type: z.string(), id: z.string(), recordedAt: z.number() })
export type EventRef = z.infer<typeof eventRef>

export const stateAtResult = z.object({
  streamId: z.string(),
  decider: z.string(),
  state: z.unknown(),
  /** The stream version the state is at (0 = before the first event). */
  version: z.number().int(),
  /** The last event folded, or null when the point is before the first event. */
  event: eventRef.nullable(),
  /** The snapshot the fold started from, if any. */
  snapshotVersion: z.number().int().nullable(),
  eventsFolded: z.number().int(),
  /** Version of the stream's last event. */
  streamVersion: z.number().int()
})

export const replayStep = z.object({
  event: recordedEvent,
  /** The events evolve saw for this stored one, when upcasters changed it (one, or several for a split). */
  read: z.array(recordedEvent).optional(),
  before: z.unknown(),
  after: z.unknown(),
  changes: z.array(fieldChange)
})
export type ReplayStep = z.infer<typeof replayStep>

export const blameEntry = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  value: z.unknown(),
  /** The event that last set this field; null for a value from initialState that no event changed. */
  event: eventRef.nullable()
})
export type BlameEntry = z.infer<typeof blameEntry>

export const replayService = defineService({
  methods: {
    /** Which decider replays a stream (by its category), and the deciders there are. */
    deciderFor: method(
      'The decider that replays a stream',
      z.object({ streamId }),
      z.object({ decider: z.string().nullable(), candidates: z.array(z.object({ name: z.string(), streamPrefix: z.string() })) })
    ),
    /** The state of a stream at a point, rehydrated with its decider (from a snapshot when one fits). */
    stateAt: method(
      'Rehydrates a stream up to a version, position or time',
      z.object({ streamId, decider: z.string().optional(), at: replayPoint.optional(), useSnapshots: z.boolean().default(true) }),
      stateAtResult
    ),
    /** Step-through: each event with the state before and after it and the field-level changes. */
    steps: method(
      'Each event of a stream window with state before, after and field changes',
      z.object({ streamId, decider: z.string().optional(), fromVersion: z.number().int().min(1).default(1), limit: z.number().int().min(1).max(1000).default(200) }),
      z.object({ decider: z.string(), steps: z.array(replayStep), streamVersion: z.number().int(), next: z.number().int().nullable() })
    ),
    /** For the state at a point, the event that last changed each field. */
    blame: method(
      'For each field of the state at a point, the event that last changed it',
      z.object({ streamId, decider: z.string().optional(), at: replayPoint.optional() }),
      z.object({ decider: z.string(), version: z.number().int(), fields: z.array(blameEntry) })
    ),
    /** The slice between two versions as a given/when/then fixture (TypeScript and JSON). */
    fixture: method(
      'Exports a stream slice as a given/when/then test fixture',
      z.object({ streamId, decider: z.string().optional(), givenUpTo: z.number().int().min(0), thenUpTo: z.number().int().min(1) }),
      z.object({ typescript: z.string(), json: z.string(), fileName: z.string() })
    ),
    /** Replays a stream twice in fresh sandboxes and reports the first event where they differ. */
    checkDeterminism: method(
      'Replays a stream twice and reports the first divergence',
      z.object({ streamId, decider: z.string().optional() }),
      z.object({
        deterministic: z.boolean(),
        eventsChecked: z.number().int(),
        divergence: z.object({ event: eventRef, changes: z.array(fieldChange) }).nullable()
      })
    ),
    /** Replays a whole category (or $all) through its decider(s) as a job, with progress and cancel. */
    startReplay: method(
      'Replays a category or the whole log through the deciders as a job',
      z.object({ category: z.string().optional(), decider: z.string().optional() }),
      jobInfo
    ),
    /** Removes stored snapshots (of one decider, or all); old-code snapshots are never used anyway. */
    purgeSnapshots: method('Removes stored snapshots', z.object({ decider: z.string().optional(), staleOnly: z.boolean().default(false) }), z.object({ removed: z.number().int() }))
  },
  events: {}
})
