import { z } from 'zod'

/** Largest JSON size (data + metadata) of one event. */
export const MAX_EVENT_BYTES = 4 * 1024 * 1024

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/

/** A stream id: 1–200 characters, no control characters. */
export const streamId = z
  .string()
  .min(1, 'a stream id must not be empty')
  .max(200, 'a stream id has at most 200 characters')
  .refine((s) => !controlCharacters.test(s), 'a stream id must not contain control characters')

/** The category of a stream is the part before the first `-` (`order-42` → `order`). */
export function categoryOf(id: string): string {
  const dash = id.indexOf('-')
  return dash < 0 ? id : id.slice(0, dash)
}

export const jsonObject = z.record(z.string(), z.unknown())
export type JsonObject = Record<string, unknown>

export const eventType = z.string().min(1, 'an event type must not be empty').max(200).refine((s) => !controlCharacters.test(s), 'an event type must not contain control characters')

export const eventId = z.uuid({ message: 'an event id must be a UUID' })

/** An event as the caller hands it to the store. */
export const newEvent = z.object({
  type: eventType,
  data: jsonObject,
  metadata: jsonObject.optional(),
  id: eventId.optional(),
  schemaVersion: z.number().int().min(1).max(1_000_000).optional()
})
export type NewEvent = z.input<typeof newEvent>

/** An event as the store keeps it. */
export const recordedEvent = z.object({
  position: z.number().int().min(1),
  streamId: z.string(),
  version: z.number().int().min(1),
  type: z.string(),
  schemaVersion: z.number().int().min(1),
  id: z.string(),
  data: jsonObject,
  metadata: jsonObject.nullable(),
  /** UTC, milliseconds since the epoch. */
  recordedAt: z.number().int(),
  /** On an event as read: the stored type and schema version the upcasters started from. */
  upcastedFrom: z.object({ type: z.string(), schemaVersion: z.number().int() }).optional(),
  /** On an event as read: its place among the events one stored event was split into. */
  splitIndex: z.number().int().optional()
})
export type RecordedEvent = z.infer<typeof recordedEvent>

/**
 * What the caller expects the stream's version to be: `any`, `no-stream` (no events yet), `exists`
 * (at least one event), or an exact version (0 = the stream has no events).
 */
export const expectedVersion = z.union([z.literal('any'), z.literal('no-stream'), z.literal('exists'), z.number().int().min(0)])
export type ExpectedVersion = z.infer<typeof expectedVersion>

export const appendResult = z.object({
  streamId: z.string(),
  /** The stream's version after the append. */
  nextExpectedVersion: z.number().int().min(0),
  firstPosition: z.number().int().nullable(),
  lastPosition: z.number().int().nullable(),
  /** True when every event was already stored (an idempotent repeat). */
  duplicate: z.boolean()
})
export type AppendResult = z.infer<typeof appendResult>

export const streamMetadata = z
  .object({
    /** Only the newest N events are visible. */
    maxCount: z.number().int().min(1).optional(),
    /** Events older than this many seconds are not visible. */
    maxAge: z.number().int().min(1).optional(),
    /** Events with a lower version are not visible. */
    truncateBefore: z.number().int().min(0).optional(),
    /** Free fields. */
    custom: jsonObject.optional()
  })
  .strict()
export type StreamMetadata = z.infer<typeof streamMetadata>

export const streamState = z.enum(['live', 'deleted', 'tombstoned'])

export const streamInfo = z.object({
  streamId: z.string(),
  category: z.string(),
  /** Version of the last event (0 = none). */
  version: z.number().int(),
  /** Number of stored events (before metadata rules hide any). */
  eventCount: z.number().int(),
  firstPosition: z.number().int().nullable(),
  lastPosition: z.number().int().nullable(),
  createdAt: z.number().int().nullable(),
  updatedAt: z.number().int().nullable(),
  state: streamState,
  metadata: streamMetadata
})
export type StreamInfo = z.infer<typeof streamInfo>

export const readDirection = z.enum(['forwards', 'backwards'])
export type ReadDirection = z.infer<typeof readDirection>

/** Which events of `$all` to read. Every field narrows; none given means every event. */
export const eventFilter = z.object({
  streamId: streamId.optional(),
  category: z.string().min(1).optional(),
  types: z.array(z.string().min(1)).min(1).max(100).optional(),
  correlationId: z.string().min(1).optional(),
  fromPosition: z.number().int().min(0).optional(),
  toPosition: z.number().int().min(0).optional()
})
export type EventFilter = z.infer<typeof eventFilter>
