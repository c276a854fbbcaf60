import type {
  AppendResult,
  EventFilter,
  ExpectedVersion,
  NewEvent,
  ReadDirection,
  RecordedEvent,
  StreamInfo,
  StreamMetadata
} from '../../shared/model/events'
import type { StoreStats } from '../../shared/contract/store'

export interface ReadStreamOptions {
  /** First version to read (forwards) or last version to read (backwards). */
  from?: number
  direction?: ReadDirection
  limit?: number
}

export interface StreamPage {
  streamId: string
  version: number
  state: 'live' | 'deleted' | 'tombstoned' | 'missing'
  events: RecordedEvent[]
  next: number | null
}

export interface ReadAllOptions {
  filter?: EventFilter
  /** First position to read (forwards) or last position to read (backwards). */
  from?: number
  direction?: ReadDirection
  limit?: number
}

export interface AllPage {
  events: RecordedEvent[]
  next: number | null
  headPosition: number
}

export interface ListStreamsOptions {
  nameContains?: string
  category?: string
  eventType?: string
  includeDeleted?: boolean
  after?: string
  limit?: number
}

export interface AppendedNotice {
  streamId: string
  firstPosition: number
  lastPosition: number
  count: number
  types: string[]
}

export interface SubscribeOptions {
  /** Deliver events with a position greater than this (0 = from the start). */
  after?: number
  filter?: Omit<EventFilter, 'fromPosition' | 'toPosition'>
  batchSize?: number
}

export interface Subscription {
  /** Resolves the first time the subscription has delivered everything stored (it then goes live). */
  caughtUp: Promise<void>
  /** Resolves when the subscription has stopped (after close, or when the handler threw). */
  done: Promise<void>
  /** The position of the last event delivered. */
  position(): number
  close(): void
}

export interface ScavengeReport {
  removedEvents: number
  removedStreams: number
  byStream: Array<{ streamId: string; removed: number; reason: string }>
}

export interface ProgressOptions {
  onProgress?: (done: number, total: number | null) => void
  /** Checked between batches; when it returns true the work stops and is rolled back. */
  isCancelled?: () => boolean
}

/**
 * The event store behind every part of the workbench. One conformance suite (store.conformance.ts) runs
 * against every implementation.
 */
export interface EventStore {
  appendToStream(streamId: string, events: NewEvent[], options?: { expectedVersion?: ExpectedVersion }): Promise<AppendResult>
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StreamPage>
  readAll(options?: ReadAllOptions): Promise<AllPage>
  readEvent(by: { position: number } | { id: string }): Promise<RecordedEvent | null>
  listStreams(options?: ListStreamsOptions): Promise<{ streams: StreamInfo[]; total: number; next: string | null }>
  streamInfo(streamId: string): Promise<StreamInfo | null>
  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<StreamInfo>
  deleteStream(streamId: string, options?: { expectedVersion?: ExpectedVersion; mode?: 'soft' | 'tombstone' }): Promise<StreamInfo>
  scavenge(options?: ProgressOptions): Promise<ScavengeReport>
  subscribe(options: SubscribeOptions, handler: (event: RecordedEvent) => void | Promise<void>): Subscription
  /** Told about every append, by this process or (within a poll interval) another one. */
  onAppended(listener: (notice: AppendedNotice) => void): () => void
  headPosition(): Promise<number>
  stats(): Promise<StoreStats>
  close(): Promise<void>
}
