import { z } from 'zod'
import { defineService, event, method } from '../rpc/contract'

const count = z.number().int().min(0)

/** How many of the values seen at one place had each JSON type (`integer`: a number without a fraction). */
export const jsonTypeCounts = z.object({
  null: count.optional(),
  boolean: count.optional(),
  integer: count.optional(),
  number: count.optional(),
  string: count.optional(),
  object: count.optional(),
  array: count.optional()
})
export type JsonTypeCounts = z.infer<typeof jsonTypeCounts>
export type JsonTypeName = keyof JsonTypeCounts

/** The JSON shape observed at one place of an event's data: a union of what every event there had. */
export interface InferredShape {
  /** How many values were seen here. */
  count: number
  types: JsonTypeCounts
  /** The fields of the objects seen here, in order of first appearance; optional when some objects lacked it. */
  fields?: Array<{ name: string; optional: boolean; shape: InferredShape }>
  /** The objects here had more distinct fields than are kept (a map keyed by ids, say). */
  moreFields?: boolean
  /** The shape of the elements of the arrays seen here (the first 100 elements of each array). */
  items?: InferredShape
  /** A few distinct values seen here (strings cut to 60 characters), first seen first. */
  examples?: Array<string | number | boolean>
  /** The smallest and largest number seen here. */
  min?: number
  max?: number
}

export const inferredShape: z.ZodType<InferredShape, InferredShape> = z.lazy(() =>
  z.object({
    count,
    types: jsonTypeCounts,
    fields: z.array(z.object({ name: z.string(), optional: z.boolean(), shape: inferredShape })).optional(),
    moreFields: z.boolean().optional(),
    items: inferredShape.optional(),
    examples: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
    min: z.number().optional(),
    max: z.number().optional()
  })
)

/** An event kept as an example of its type and schema version (long strings and arrays cut). */
export const schemaExample = z.object({
  position: z.number().int(),
  streamId: z.string(),
  recordedAt: z.number(),
  data: z.record(z.string(), z.unknown())
})
export type SchemaExample = z.infer<typeof schemaExample>

/** What the log holds of one event type at one schema version. */
export const eventSchema = z.object({
  type: z.string(),
  schemaVersion: z.number().int(),
  count,
  firstPosition: z.number().int(),
  lastPosition: z.number().int(),
  firstRecordedAt: z.number(),
  lastRecordedAt: z.number(),
  /** The shape of `data`. */
  shape: inferredShape,
  /** The first event of this version and the two latest. */
  examples: z.array(schemaExample)
})
export type EventSchema = z.infer<typeof eventSchema>

/** The mix of schema versions of one event type over time, in buckets of whole UTC days. */
export const schemaDrift = z.object({
  type: z.string(),
  /** The schema versions seen, ascending; `counts` of each bucket follow this order. */
  versions: z.array(z.number().int()),
  bucketDays: z.number().int().min(1),
  buckets: z.array(
    z.object({
      /** Start (inclusive) and end (exclusive) of the bucket, ms since the epoch (UTC midnight). */
      start: z.number(),
      end: z.number(),
      counts: z.array(count),
      total: count
    })
  )
})
export type SchemaDrift = z.infer<typeof schemaDrift>

const eventType = z.string().min(1).max(200)

export const versioningService = defineService({
  methods: {
    /** Inferred shapes per event type and schema version, brought up to the head of the log before answering. */
    schemas: method(
      'Inferred data shapes per event type and schema version',
      z.object({ type: eventType.optional() }).default({}),
      z.array(eventSchema)
    ),
    /** How the schema versions of one event type mix over time (schema drift), at most `buckets` buckets. */
    drift: method(
      'The mix of schema versions of one event type over time',
      z.object({ type: eventType, buckets: z.number().int().min(1).max(1000).default(60) }),
      schemaDrift
    )
  },
  events: {
    /** The inference took in new events (after appends, by this or another process). */
    updated: event('The inferred schemas took in new events', z.object({ position: z.number().int(), types: z.array(z.string()) }))
  }
})
