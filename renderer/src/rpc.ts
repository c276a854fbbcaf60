import { contract, type WorkbenchContract } from '../../shared/contract'
import { connect } from '../../shared/rpc/client'
import type { Client } from '../../shared/rpc/contract'
import type { Disposer, Protocol } from '../../shared/rpc/protocol'

export type WorkbenchClient = Client<WorkbenchContract>
export type TransportKind = 'electron' | 'websocket'

export interface Transport {
  kind: TransportKind
  protocol: Protocol
  /** Resolves when the transport can carry messages; rejects when it cannot be opened. */
  ready: Promise<void>
  close(): void
}

/** The preload bridge under Electron; a WebSocket to the browser host (token from the page URL) elsewhere. */
export function openTransport(): Transport {
  if (window.eswBridge) return electronTransport(window.eswBridge)
  return webSocketTransport()
}

function electronTransport(bridge: EswBridge): Transport {
  const closeListeners = new Set<() => void>()
  return {
    kind: 'electron',
    protocol: {
      send: (message) => bridge.send(message),
      onMessage: (listener) => bridge.onMessage(listener),
      onClose: (listener): Disposer => {
        closeListeners.add(listener)
        return () => closeListeners.delete(listener)
      }
    },
    ready: Promise.resolve(),
    close: () => {
      for (const l of closeListeners) l()
    }
  }
}

function webSocketTransport(): Transport {
  const token = new URLSearchParams(location.search).get('token') ?? ''
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  const socket = new WebSocket(`${scheme}://${location.host}/rpc?token=${encodeURIComponent(token)}`)
  const ready = new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true })
    socket.addEventListener('close', () => reject(new Error('The workbench refused the connection or is not running')), { once: true })
  })
  return {
    kind: 'websocket',
    protocol: {
      send: (message) => socket.send(message),
      onMessage: (listener) => {
        const handler = (event: MessageEvent) => {
          if (typeof event.data === 'string') listener(event.data)
        }
        socket.addEventListener('message', handler)
        return () => socket.removeEventListener('message', handler)
      },
      onClose: (listener) => {
        socket.addEventListener('close', listener)
        return () => socket.removeEventListener('close', listener)
      }
    },
    ready,
    close: () => socket.close()
  }
}

export function createClient(transport: Transport): WorkbenchClient {
  return connect(contract, transport.protocol)
}
