import { createHash, randomFillSync } from 'node:crypto'

const pool = Buffer.alloc(16 * 1024)
let poolOffset = pool.length

/** Fills target[offset, offset + length) with random bytes from a pool refilled 16 KiB at a time. */
function randomInto(target: Buffer, offset: number, length: number) {
  while (length > 0) {
    if (poolOffset === pool.length) {
      randomFillSync(pool)
      poolOffset = 0
    }
    const n = Math.min(length, pool.length - poolOffset)
    pool.copy(target, offset, poolOffset, poolOffset + n)
    poolOffset += n
    offset += n
    length -= n
  }
}

/**
 * A time-ordered UUID (version 7): new ids land at the end of the id index, so appends stay fast
 * on a large log.
 */
export function uuidv7Bytes(now = Date.now()): Buffer {
  const bytes = Buffer.allocUnsafe(16)
  bytes.writeUIntBE(now, 0, 6)
  randomInto(bytes, 6, 10)
  bytes[6] = 0x70 | (bytes[6] & 0x0f)
  bytes[8] = 0x80 | (bytes[8] & 0x3f)
  return bytes
}

/** The largest position an id made by the SQLite store carries (40 bits); later events get plain UUIDv7s. */
export const MAX_ID_POSITION = 2 ** 40 - 1

/**
 * The id the SQLite store gives an event appended without one, as stored: a UUIDv7 whose 48-bit time is the
 * event's recording time in ms and whose other 74 bits are the event's position (40 bits, right after the version
 * nibble, so ids of one millisecond sort by position) and 34 random bits; then a 17th byte, 0. The position finds
 * the event by its id without an index entry: the id index holds 16-byte ids only, and bytesToUuid reads the first
 * 16 bytes. Returns null when the time or the position does not fit.
 */
export function positionalIdBytes(time: number, position: number): Buffer | null {
  return positionalIds(time, position, 1)
}

/**
 * The ids of `count` events at consecutive positions from `firstPosition`, one after the other in one buffer of
 * 17 × count bytes (each as positionalIdBytes makes it), so a batch append makes one buffer, not one per event.
 * Returns null when the time or a position does not fit.
 */
export function positionalIds(time: number, firstPosition: number, count: number): Buffer | null {
  if (!(time >= 0 && time < 2 ** 48) || !Number.isInteger(time)) return null
  if (!(firstPosition >= 1 && firstPosition + count - 1 <= MAX_ID_POSITION)) return null
  const bytes = Buffer.allocUnsafe(17 * count)
  randomInto(bytes, 0, bytes.length)
  for (let i = 0, o = 0; i < count; i++, o += 17) {
    const position = firstPosition + i
    bytes.writeUIntBE(time, o, 6)
    const high = Math.floor(position / 2 ** 22) // 18 bits: the version nibble's 4, byte 7, the variant's 6
    bytes[o + 6] = 0x70 | (high >>> 14)
    bytes[o + 7] = (high >>> 6) & 0xff
    bytes[o + 8] = 0x80 | (high & 0x3f)
    const low = position % 2 ** 22
    bytes[o + 9] = low >>> 14
    bytes[o + 10] = (low >>> 6) & 0xff
    bytes[o + 11] = ((low & 0x3f) << 2) | (bytes[o + 11] & 0x03)
    bytes[o + 16] = 0
  }
  return bytes
}

/** The position a positional id carries (positionalIdBytes); any 16 bytes give some number. */
export function positionOfId(id: Uint8Array): number {
  return ((id[6] & 0x0f) * 2 ** 14 + id[7] * 2 ** 6 + (id[8] & 0x3f)) * 2 ** 22 + id[9] * 2 ** 14 + id[10] * 2 ** 6 + (id[11] >>> 2)
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(text: string): boolean {
  return uuidPattern.test(text)
}

export function uuidToBytes(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, ''), 'hex')
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function bytesToUuid(b: Uint8Array): string {
  return (
    HEX[b[0]] + HEX[b[1]] + HEX[b[2]] + HEX[b[3]] + '-' + HEX[b[4]] + HEX[b[5]] + '-' + HEX[b[6]] + HEX[b[7]] + '-' +
    HEX[b[8]] + HEX[b[9]] + '-' + HEX[b[10]] + HEX[b[11]] + HEX[b[12]] + HEX[b[13]] + HEX[b[14]] + HEX[b[15]]
  )
}

/**
 * A UUID derived from a name (version 5 layout, SHA-1): the same name gives the same id, so a command sent again
 * with the same id appends the same event ids, which the store recognises as a repeat.
 */
export function uuidFromName(name: string): string {
  const bytes = createHash('sha1').update(name).digest().subarray(0, 16)
  bytes[6] = 0x50 | (bytes[6] & 0x0f)
  bytes[8] = 0x80 | (bytes[8] & 0x3f)
  return bytesToUuid(bytes)
}
