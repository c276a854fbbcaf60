import { z } from 'zod'
import { defineService, event, method } from '../rpc/contract'
import {
  appendResult,
  eventFilter,
  expectedVersion,
  newEvent,
  readDirection,
  recordedEvent,
  streamId,
  streamInfo,
  streamMetadata
} from '../model/events'

const pageLimit = z.number().int().min(1).max(1000)

export const streamPage = z.object({
  streamId: z.string(),
  /** The stream's current version. */
  version: z.number().int(),
  state: z.enum(['live', 'deleted', 'tombstoned', 'missing']),
  events: z.array(recordedEvent),
  /** Where the next page starts (a version), or null at the end. */
  next: z.number().int().nullable()
})

export const allPage = z.object({
  events: z.array(recordedEvent),
  /** Where the next page starts (a position), or null at the end. */
  next: z.number().int().nullable(),
  headPosition: z.number().int()
})

export const storeStats = z.object({
  events: z.number().int(),
  streams: z.number().int(),
  headPosition: z.number().int(),
  categories: z.array(z.object({ category: z.string(), streams: z.number().int(), events: z.number().int() })),
  eventTypes: z.array(z.object({ type: z.string(), events: z.number().int() })),
  databaseBytes: z.number().int()
})
export type StoreStats = z.infer<typeof storeStats>

export const appendedNotice = z.object({
  streamId: z.string(),
  firstPosition: z.number().int(),
  lastPosition: z.number().int(),
  count: z.number().int(),
  types: z.array(z.string())
})

export const storeService = defineService({
  methods: {
    /** Appends events to a stream, all or none, checking the expected version. */
    append: method(
      'Appends events to a stream with an expected version',
      z.object({ streamId, events: z.array(newEvent).min(1).max(10_000), expectedVersion: expectedVersion.default('any') }),
      appendResult
    ),
    /** Reads a page of a stream, forwards or backwards from a version. */
    readStream: method(
      'Reads a page of one stream',
      z.object({ streamId, from: z.number().int().min(0).optional(), direction: readDirection.default('forwards'), limit: pageLimit.default(100) }),
      streamPage
    ),
    /** Reads a page of $all (optionally filtered by stream, category, types, correlation id, position range). */
    readAll: method(
      'Reads a page of $all, optionally filtered',
      z.object({ filter: eventFilter.default({}), from: z.number().int().min(0).optional(), direction: readDirection.default('forwards'), limit: pageLimit.default(100) }),
      allPage
    ),
    /** One event by global position or by id. */
    readEvent: method(
      'Reads one event by position or id',
      z.union([z.object({ position: z.number().int().min(1) }), z.object({ id: z.string().min(1) })]),
      recordedEvent
    ),
    /** Lists streams with filters, newest activity first, with keyset paging. */
    listStreams: method(
      'Lists streams with filters and counts',
      z.object({
        nameContains: z.string().max(200).optional(),
        category: z.string().max(200).optional(),
        eventType: z.string().max(200).optional(),
        includeDeleted: z.boolean().default(false),
        after: z.string().optional(),
        limit: pageLimit.default(200)
      }),
      z.object({ streams: z.array(streamInfo), total: z.number().int(), next: z.string().nullable() })
    ),
    /** Details of one stream, including metadata. */
    streamInfo: method('Details and metadata of one stream', z.object({ streamId }), streamInfo),
    /** Replaces a stream's metadata (maxCount, maxAge, truncateBefore, custom fields). */
    setStreamMetadata: method('Sets the metadata of a stream', z.object({ streamId, metadata: streamMetadata }), streamInfo),
    /** Soft-deletes (hides; an append revives it) or tombstones (for good) a stream. */
    deleteStream: method(
      'Soft-deletes or tombstones a stream',
      z.object({ streamId, expectedVersion: expectedVersion.default('any'), mode: z.enum(['soft', 'tombstone']).default('soft') }),
      streamInfo
    ),
    /** Counts of events, streams, categories and types. */
    stats: method('Counts of events, streams, categories and event types', z.void(), storeStats)
  },
  events: {
    /** Published after every successful append, by this or another process. */
    appended: event('Events were appended', appendedNotice)
  }
})
