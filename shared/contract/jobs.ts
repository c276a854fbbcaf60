import { z } from 'zod'
import { defineService, event, method } from '../rpc/contract'
import { eventFilter } from '../model/events'

export const jobKind = z.enum(['export', 'import', 'scavenge', 'seed', 'replay', 'projection', 'dry-run', 'migrate', 'branch'])
export const jobState = z.enum(['running', 'succeeded', 'failed', 'cancelled'])

export const jobInfo = z.object({
  id: z.string(),
  kind: jobKind,
  title: z.string(),
  state: jobState,
  done: z.number(),
  /** Null when the total is not known in advance. */
  total: z.number().nullable(),
  /** What the figures do not say: 'Starting', 'Cancelling', 'Done', the error; empty while the job makes progress. */
  message: z.string(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).nullable()
})
export type JobInfo = z.infer<typeof jobInfo>

export const exportResult = z.object({ file: z.string(), fileName: z.string(), events: z.number().int(), bytes: z.number().int(), downloadUrl: z.string().nullable() })
export const importResult = z.object({ events: z.number().int(), streams: z.number().int(), mode: z.enum(['restore', 'append']) })
export const scavengeResult = z.object({ removedEvents: z.number().int(), removedStreams: z.number().int(), byStream: z.array(z.object({ streamId: z.string(), removed: z.number().int(), reason: z.string() })) })

export const jobsService = defineService({
  methods: {
    /** Exports events as NDJSON to a file in the workspace's exports folder. */
    startExport: method(
      'Starts an NDJSON export job',
      z.object({
        filter: eventFilter.default({}),
        /** Write the events as read through the upcasters (versions move up after a split; positions renumbered). */
        upcast: z.boolean().default(false)
      }),
      jobInfo
    ),
    /** Opens an upload for an import; send the file in chunks with uploadChunk. */
    beginUpload: method('Opens an upload for an NDJSON import', z.object({ fileName: z.string().max(255), bytes: z.number().int().min(0) }), z.object({ uploadId: z.string() })),
    /** Adds one chunk (at most 4 MiB of text) to an upload. */
    uploadChunk: method('Adds a chunk of text to an upload', z.object({ uploadId: z.string(), text: z.string().max(4 * 1024 * 1024) }), z.object({ received: z.number().int() })),
    /** Imports an uploaded NDJSON file: all or nothing. */
    startImport: method('Starts an NDJSON import job from an upload', z.object({ uploadId: z.string() }), jobInfo),
    /** Physically removes events that metadata and deletes hide. */
    startScavenge: method('Starts a scavenge job', z.void(), jobInfo),
    /** Asks a running job to stop; it ends as cancelled and changes nothing. */
    cancel: method('Cancels a running job', z.object({ jobId: z.string() }), jobInfo),
    /** Jobs of this session, newest first. */
    list: method('Lists the jobs of this session', z.void(), z.array(jobInfo))
  },
  events: {
    /** Progress and end of a job. */
    updated: event('A job made progress or ended', jobInfo)
  }
})
