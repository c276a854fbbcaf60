import type { z } from 'zod'
import type { Disposer } from './protocol'

export interface MethodDef<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  input: I
  output: O
  /** One line: what the method does. */
  doc: string
}

export interface EventDef<P extends z.ZodType = z.ZodType> {
  payload: P
  doc: string
}

export interface ServiceDef<
  M extends Record<string, MethodDef> = Record<string, MethodDef>,
  E extends Record<string, EventDef> = Record<string, EventDef>
> {
  methods: M
  events: E
}

/** A contract is the set of services the main process serves, keyed by service name. */
export type Contract = Record<string, ServiceDef>

export function defineService<M extends Record<string, MethodDef>, E extends Record<string, EventDef>>(
  service: ServiceDef<M, E>
): ServiceDef<M, E> {
  return service
}

export function method<I extends z.ZodType, O extends z.ZodType>(doc: string, input: I, output: O): MethodDef<I, O> {
  return { doc, input, output }
}

export function event<P extends z.ZodType>(doc: string, payload: P): EventDef<P> {
  return { doc, payload }
}

type IsOptional<T> = undefined extends T ? true : false

/** A client-side method: takes the schema's input type, resolves to the schema's output type. */
export type ClientMethod<D extends MethodDef> =
  IsOptional<z.input<D['input']>> extends true
    ? (input?: z.input<D['input']>) => Promise<z.output<D['output']>>
    : (input: z.input<D['input']>) => Promise<z.output<D['output']>>

export type ServiceClient<S extends ServiceDef> = {
  [K in keyof S['methods']]: ClientMethod<S['methods'][K]>
} & {
  /** Subscribes to one of the service's events; the returned function unsubscribes. */
  on<E extends keyof S['events'] & string>(
    event: E,
    listener: (payload: z.output<S['events'][E]['payload']>) => void
  ): Disposer
}

/** The typed proxy that `connect` returns for a contract. */
export type Client<C extends Contract> = { [S in keyof C]: ServiceClient<C[S]> } & {
  /** Rejects pending calls and drops subscriptions. */
  close(): void
}

export interface CallContext {
  /** Identifies the connection a call came in on (one per window or WebSocket). */
  connectionId: string
}

export type ServiceImplementation<S extends ServiceDef> = {
  [K in keyof S['methods']]: (
    input: z.output<S['methods'][K]['input']>,
    context: CallContext
  ) => Promise<z.input<S['methods'][K]['output']>> | z.input<S['methods'][K]['output']>
}

export type Implementation<C extends Contract> = { [S in keyof C]: ServiceImplementation<C[S]> }

/** Where the server finds the events it forwards to subscribed clients. */
export interface EventSource<C extends Contract> {
  on<S extends keyof C & string, E extends keyof C[S]['events'] & string>(
    service: S,
    event: E,
    listener: (payload: z.input<C[S]['events'][E]['payload']>) => void
  ): Disposer
}
