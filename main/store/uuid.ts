import { createHash, randomFillSync } from 'node:crypto'

const pool = Buffer.alloc(16 * 1024)
let poolOffset = pool.length

function randomBytes10(target: Buffer, offset: number) {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  pool.copy(target, offset, poolOffset, poolOffset + 10)
  poolOffset += 10
}

/**
 * A time-ordered UUID (version 7): new ids land at the end of the id index, so appends stay fast
 * on a large log.
 */
export function uuidv7Bytes(now = Date.now()): Buffer {
  const bytes = Buffer.allocUnsafe(16)
  bytes.writeUIntBE(now, 0, 6)
  randomBytes10(bytes, 6)
  bytes[6] = 0x70 | (bytes[6] & 0x0f)
  bytes[8] = 0x80 | (bytes[8] & 0x3f)
  return bytes
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
