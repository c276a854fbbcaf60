import { z } from 'zod'

export type Disposer = () => void

/**
 * The smallest thing a transport must offer: send a text message, receive text messages.
 * Electron IPC, a WebSocket and an in-memory pair each adapt to this.
 */
export interface Protocol {
  send(message: string): void
  onMessage(listener: (message: string) => void): Disposer
  /** Called when the other side goes away; optional for transports that never close. */
  onClose?(listener: () => void): Disposer
}

const errorShape = z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() })

/** Client -> server. */
export const clientMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('req'), id: z.number().int(), s: z.string(), m: z.string(), p: z.unknown().optional() }),
  z.object({ t: z.literal('sub'), id: z.number().int(), s: z.string(), e: z.string() }),
  z.object({ t: z.literal('unsub'), id: z.number().int() })
])
export type ClientMessage = z.infer<typeof clientMessage>

/** Server -> client. */
export const serverMessage = z.union([
  z.object({ t: z.literal('res'), id: z.number().int(), ok: z.literal(true), r: z.unknown().optional() }),
  z.object({ t: z.literal('res'), id: z.number().int().nullable(), ok: z.literal(false), e: errorShape }),
  z.object({ t: z.literal('evt'), sub: z.number().int(), p: z.unknown().optional() })
])
export type ServerMessage = z.infer<typeof serverMessage>

/** UTF-8 byte length of a string without allocating a buffer. */
export function utf8Length(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}
