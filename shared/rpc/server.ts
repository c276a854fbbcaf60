import type { CallContext, Contract, EventSource, Implementation, MethodDef, ServiceDef } from './contract'
import { RpcError, invalidInputFromZod, type ErrorShape } from './errors'
import { MAX_MESSAGE_BYTES } from './channel'
import { clientMessage, utf8Length, type Disposer, type Protocol, type ServerMessage } from './protocol'

export interface ServeOptions<C extends Contract> {
  /** Where service events come from; without it, subscriptions are refused. */
  events?: EventSource<C>
  maxMessageBytes?: number
  connectionId?: string
  /** Told about failures inside services (for logs); the caller still gets an Internal error. */
  onInternalError?: (error: unknown, where: string) => void
}

let nextConnection = 1

/** Serves an implementation of a contract over a protocol. Every input is parsed with the contract's schema. */
export function serve<C extends Contract>(
  contract: C,
  implementation: Implementation<C>,
  protocol: Protocol,
  options: ServeOptions<C> = {}
): Disposer {
  const maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES
  const context: CallContext = { connectionId: options.connectionId ?? `conn-${nextConnection++}` }
  const subscriptions = new Map<number, Disposer>()
  let disposed = false

  const send = (message: ServerMessage) => {
    if (disposed) return
    let text: string
    try {
      text = JSON.stringify(message)
    } catch (error) {
      const id = message.t === 'res' ? message.id : null
      text = JSON.stringify({ t: 'res', id, ok: false, e: toShape(new RpcError('Internal', `Result could not be serialised: ${describe(error)}`)) })
    }
    if (utf8Length(text) > maxBytes && message.t === 'res') {
      text = JSON.stringify({
        t: 'res',
        id: message.id,
        ok: false,
        e: toShape(new RpcError('PayloadTooLarge', `The result is larger than ${maxBytes} bytes; ask for a smaller page.`))
      })
    }
    try {
      protocol.send(text)
    } catch {
      // The other side is gone; nothing to tell.
    }
  }

  const fail = (id: number | null, error: unknown) => send({ t: 'res', id, ok: false, e: toShape(error) })

  const lookup = (service: string, name: string): { service: ServiceDef; def: MethodDef } | undefined => {
    const svc = Object.hasOwn(contract, service) ? contract[service] : undefined
    const def = svc && Object.hasOwn(svc.methods, name) ? svc.methods[name] : undefined
    return svc && def ? { service: svc, def } : undefined
  }

  const handleRequest = async (id: number, service: string, name: string, payload: unknown) => {
    const found = lookup(service, name)
    if (!found) {
      fail(id, new RpcError('UnknownMethod', `Unknown method ${service}.${name}`, { service, method: name }))
      return
    }
    const parsed = found.def.input.safeParse(payload)
    if (!parsed.success) {
      fail(id, invalidInputFromZod(parsed.error, `${service}.${name}`))
      return
    }
    const impl = (implementation as Record<string, Record<string, (i: unknown, c: CallContext) => unknown>>)[service]
    try {
      const result = await impl[name](parsed.data, context)
      const checked = found.def.output.safeParse(result)
      if (!checked.success) {
        const error = invalidInputFromZod(checked.error, `${service}.${name} result`)
        throw new RpcError('Internal', `${service}.${name} returned a result that breaks its contract: ${error.message}`)
      }
      send({ t: 'res', id, ok: true, r: checked.data })
    } catch (error) {
      if (!(error instanceof RpcError)) options.onInternalError?.(error, `${service}.${name}`)
      fail(id, error instanceof RpcError ? error : new RpcError('Internal', `${service}.${name} failed: ${describe(error)}`))
    }
  }

  const handleSubscribe = (id: number, service: string, name: string) => {
    const svc = Object.hasOwn(contract, service) ? contract[service] : undefined
    if (!svc || !Object.hasOwn(svc.events, name)) {
      fail(id, new RpcError('UnknownMethod', `Unknown event ${service}.${name}`, { service, event: name }))
      return
    }
    if (!options.events) {
      fail(id, new RpcError('Internal', 'This server publishes no events'))
      return
    }
    if (subscriptions.has(id)) {
      fail(id, new RpcError('InvalidInput', `Subscription id ${id} is already in use`))
      return
    }
    const events = options.events as EventSource<Contract>
    const dispose = events.on(service, name, (payload: unknown) => send({ t: 'evt', sub: id, p: payload }))
    subscriptions.set(id, dispose)
    send({ t: 'res', id, ok: true })
  }

  const onMessage = (raw: string) => {
    if (disposed) return
    if (typeof raw !== 'string') {
      fail(null, new RpcError('InvalidInput', 'Malformed message: expected text'))
      return
    }
    if (raw.length > maxBytes || utf8Length(raw) > maxBytes) {
      fail(null, new RpcError('PayloadTooLarge', `Message refused: it is larger than the limit of ${maxBytes} bytes`))
      return
    }
    let json: unknown
    try {
      json = JSON.parse(raw)
    } catch (error) {
      fail(null, new RpcError('InvalidInput', `Malformed message: not JSON (${describe(error)})`))
      return
    }
    const message = clientMessage.safeParse(json)
    if (!message.success) {
      const id = typeof (json as { id?: unknown })?.id === 'number' ? (json as { id: number }).id : null
      fail(id, invalidInputFromZod(message.error, 'the RPC message'))
      return
    }
    const m = message.data
    if (m.t === 'req') void handleRequest(m.id, m.s, m.m, m.p)
    else if (m.t === 'sub') handleSubscribe(m.id, m.s, m.e)
    else {
      subscriptions.get(m.id)?.()
      subscriptions.delete(m.id)
    }
  }

  const disposeAll = () => {
    if (disposed) return
    disposed = true
    for (const dispose of subscriptions.values()) dispose()
    subscriptions.clear()
    stopMessages()
    stopClose?.()
  }

  const stopMessages = protocol.onMessage(onMessage)
  const stopClose = protocol.onClose?.(disposeAll)
  return disposeAll
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function toShape(error: unknown): ErrorShape {
  if (error instanceof RpcError) return error.toJSON()
  return { code: 'Internal', message: describe(error) }
}
