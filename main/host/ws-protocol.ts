import WebSocket from 'ws'
import type { Disposer, Protocol } from '../../shared/rpc/protocol'

/** Adapts a server-side WebSocket to the RPC protocol. Binary frames are read as UTF-8 text. */
export function webSocketProtocol(socket: WebSocket): Protocol {
  return {
    send(message) {
      if (socket.readyState === WebSocket.OPEN) socket.send(message)
    },
    onMessage(listener): Disposer {
      const handler = (data: WebSocket.RawData) => {
        const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8')
        listener(text)
      }
      socket.on('message', handler)
      return () => socket.off('message', handler)
    },
    onClose(listener): Disposer {
      socket.on('close', listener)
      return () => socket.off('close', listener)
    }
  }
}
