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
  id: Buffer
  idGiven: boolean
  data: string
  metadata: string | null
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Checks one new event and turns it into what the database stores; the message names stream, index and field. */
export function checkNewEvent(event: NewEvent, streamId: string, index: number): PreparedEvent {
  const where = `stream ${streamId}, event ${index}`
  const fail = (field: string, message: string): never => {
    throw new RpcError('InvalidInput', `Invalid event (${where}) at ${field}: ${message}`, { streamId, index, field })
  }
  if (!isPlainObject(event)) fail('(event)', 'expected an object with type and data')
  if (typeof event.type !== 'string' || event.type.length === 0) fail('type', 'expected a non-empty string')
  if (event.type.length > 200 || controlCharacters.test(event.type)) fail('type', 'at most 200 characters, no control characters')
  if (!isPlainObject(event.data)) fail('data', `expected a JSON object, got ${Array.isArray(event.data) ? 'an array' : event.data === null ? 'null' : typeof event.data}`)
  if (event.metadata !== undefined && event.metadata !== null && !isPlainObject(event.metadata)) fail('metadata', 'expected a JSON object')
  const schemaVersion = event.schemaVersion ?? 1
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) fail('schemaVersion', 'expected a whole number of at least 1')
  if (event.id !== undefined && (typeof event.id !== 'string' || !isUuid(event.id))) fail('id', 'expected a UUID')
  let data: string
  let metadata: string | null
  try {
    data = JSON.stringify(event.data)
    metadata = event.metadata == null ? null : JSON.stringify(event.metadata)
  } catch (error) {
    return fail('data', `not serialisable as JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  const bytes = Buffer.byteLength(data) + (metadata ? Buffer.byteLength(metadata) : 0)
  if (bytes > MAX_EVENT_BYTES) fail('data', `the event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} bytes`)
  return {
    type: event.type,
    schemaVersion,
    id: event.id ? uuidToBytes(event.id) : uuidv7Bytes(),
    idGiven: event.id !== undefined,
    data,
    metadata
  }
}
