import type { Client, Contract } from './contract'
import { RpcError, isErrorShape } from './errors'
import { serverMessage, type Disposer, type Protocol } from './protocol'

interface Pending {
  resolve(value: unknown): void
  reject(error: unknown): void
}

interface Subscription {
  id: number
  listeners: Set<(payload: unknown) => void>
  ready: boolean
}

export interface ConnectOptions {
  /** Told about errors that belong to no call (a malformed message the server could not attribute). */
  onStrayError?: (error: RpcError) => void
}

/** Turns a protocol back into a typed proxy of the contract. */
export function connect<C extends Contract>(contract: C, protocol: Protocol, options: ConnectOptions = {}): Client<C> {
  let nextId = 1
  let closed = false
  const pending = new Map<number, Pending>()
  const subscriptionsByKey = new Map<string, Subscription>()
  const subscriptionsById = new Map<number, Subscription>()

  const send = (message: object) => {
    if (closed) throw new RpcError('Disconnected', 'The connection to the workbench is closed')
    protocol.send(JSON.stringify(message))
  }

  const call = (service: string, method: string, payload: unknown) =>
    new Promise((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve, reject })
      try {
        send({ t: 'req', id, s: service, m: method, p: payload })
      } catch (error) {
        pending.delete(id)
        reject(error)
      }
    })

  const subscribe = (service: string, event: string, listener: (payload: unknown) => void): Disposer => {
    const key = `${service}.${event}`
    let sub = subscriptionsByKey.get(key)
    if (!sub) {
      const id = nextId++
      sub = { id, listeners: new Set(), ready: false }
      subscriptionsByKey.set(key, sub)
      subscriptionsById.set(id, sub)
      const created = sub
      pending.set(id, {
        resolve: () => (created.ready = true),
        reject: (error) => {
          subscriptionsByKey.delete(key)
          subscriptionsById.delete(id)
          options.onStrayError?.(error as RpcError)
        }
      })
      if (!closed) protocol.send(JSON.stringify({ t: 'sub', id, s: service, e: event }))
    }
    const current = sub
    current.listeners.add(listener)
    return () => {
      current.listeners.delete(listener)
      if (current.listeners.size === 0 && subscriptionsByKey.get(key) === current) {
        subscriptionsByKey.delete(key)
        subscriptionsById.delete(current.id)
        if (!closed) protocol.send(JSON.stringify({ t: 'unsub', id: current.id }))
      }
    }
  }

  const stopMessages = protocol.onMessage((raw) => {
    let json: unknown
    try {
      json = JSON.parse(raw)
    } catch {
      return
    }
    const parsed = serverMessage.safeParse(json)
    if (!parsed.success) return
    const message = parsed.data
    if (message.t === 'evt') {
      const sub = subscriptionsById.get(message.sub)
      if (sub) for (const l of [...sub.listeners]) l(message.p)
      return
    }
    if (message.id === null) {
      const e = message.ok ? undefined : message.e
      if (e) options.onStrayError?.(toRpcError(e))
      return
    }
    const waiting = pending.get(message.id)
    if (!waiting) return
    pending.delete(message.id)
    if (message.ok) waiting.resolve(message.r)
    else waiting.reject(toRpcError(message.e))
  })

  const close = () => {
    if (closed) return
    closed = true
    stopMessages()
    stopClose?.()
    const error = new RpcError('Disconnected', 'The connection to the workbench was closed')
    for (const p of pending.values()) p.reject(error)
    pending.clear()
    subscriptionsByKey.clear()
    subscriptionsById.clear()
  }
  const stopClose = protocol.onClose?.(close)

  const client: Record<string, unknown> = { close }
  for (const [service, def] of Object.entries(contract)) {
    const proxy: Record<string, unknown> = {
      on: (event: string, listener: (payload: unknown) => void) => subscribe(service, event, listener)
    }
    for (const method of Object.keys(def.methods)) {
      proxy[method] = (input?: unknown) => call(service, method, input)
    }
    client[service] = proxy
  }
  return client as Client<C>
}

function toRpcError(shape: unknown): RpcError {
  if (isErrorShape(shape)) return new RpcError(shape.code, shape.message, shape.details)
  return new RpcError('Internal', 'The workbench sent an error of unknown form', shape)
}
