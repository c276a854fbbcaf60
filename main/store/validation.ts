import { RpcError } from '../../shared/rpc/errors'
import { MAX_EVENT_BYTES, type NewEvent } from '../../shared/model/events'
import { isUuid, uuidToBytes, uuidv7Bytes } from './uuid'

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/

export function checkStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 200 || controlCharacters.test(streamId)) {
    throw new RpcError(
      'InvalidInput',
      `Invalid stream id ${JSON.stringify(streamId)}: a stream id has 1–200 characters and no control characters`,
      { field: 'streamId' }
    )
  }
}

export interface PreparedEvent {
  type: string
  schemaVersion: number
  /** The given id, or one made here; empty when none was given and generateId was false (the store makes it). */
  id: Buffer
  idGiven: boolean
  data: string
  metadata: string | null
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(streamId: string, index: number, field: string, message: string): never {
  throw new RpcError('InvalidInput', `Invalid event (stream ${streamId}, event ${index}) at ${field}: ${message}`, { streamId, index, field })
}

const NO_ID = Buffer.alloc(0)

/**
 * Checks one new event and turns it into what the database stores; the message names stream, index and field.
 * On the append path for every event, so nothing is built unless a check fails (measured: about 0.2 µs of 1.8 µs
 * per event, most of the rest is JSON.stringify). Without generateId an event without an id gets an empty one, for
 * a store that makes ids itself (the SQLite store's carry the event's position).
 */
export function checkNewEvent(event: NewEvent, streamId: string, index: number, generateId = true): PreparedEvent {
  if (!isPlainObject(event)) invalid(streamId, index, '(event)', 'expected an object with type and data')
  const type = event.type
  if (typeof type !== 'string' || type.length === 0) invalid(streamId, index, 'type', 'expected a non-empty string')
  if (type.length > 200 || controlCharacters.test(type)) invalid(streamId, index, 'type', 'at most 200 characters, no control characters')
  if (!isPlainObject(event.data)) {
    invalid(streamId, index, 'data', `expected a JSON object, got ${Array.isArray(event.data) ? 'an array' : event.data === null ? 'null' : typeof event.data}`)
  }
  if (event.metadata !== undefined && event.metadata !== null && !isPlainObject(event.metadata)) invalid(streamId, index, 'metadata', 'expected a JSON object')
  const schemaVersion = event.schemaVersion ?? 1
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) invalid(streamId, index, 'schemaVersion', 'expected a whole number of at least 1')
  if (event.id !== undefined && (typeof event.id !== 'string' || !isUuid(event.id))) invalid(streamId, index, 'id', 'expected a UUID')
  let data: string
  let metadata: string | null
  try {
    data = JSON.stringify(event.data)
    metadata = event.metadata == null ? null : JSON.stringify(event.metadata)
  } catch (error) {
    return invalid(streamId, index, 'data', `not serialisable as JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only a text that could be over the limit is measured exactly.
  if ((data.length + (metadata === null ? 0 : metadata.length)) * 3 > MAX_EVENT_BYTES) {
    const bytes = Buffer.byteLength(data) + (metadata === null ? 0 : Buffer.byteLength(metadata))
    if (bytes > MAX_EVENT_BYTES) invalid(streamId, index, 'data', `the event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} bytes`)
  }
  return {
    type,
    schemaVersion,
    id: event.id ? uuidToBytes(event.id) : generateId ? uuidv7Bytes() : NO_ID,
    idGiven: event.id !== undefined,
    data,
    metadata
  }
}
