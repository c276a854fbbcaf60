import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RuleViolation, type Decider } from 'workbench'
import { SqliteEventStore } from '../../store/sqlite-store'
import type { DemoClock, SendCommand } from './generator'
import cartsV1 from './history/carts.v1'
import { eventIdFor } from './ids'
import carts from './template/domain/carts'
import inventory from './template/domain/inventory'
import orders from './template/domain/orders'
import payments from './template/domain/payments'
import shipping from './template/domain/shipping'
import itemAdded from './template/upcasters/item-added'
import { buildRegistry, upcastAll } from '../../versioning/upcast-runtime'

/**
 * The demo deciders run in-process over a real SqliteEventStore in a temporary folder: no sandbox, no snapshots,
 * each command reads its whole stream. The tests' harness, and the plain-Node baseline of the benchmark.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each decider has its own state type
type AnyDecider = Decider<any>

const deciders = new Map<string, AnyDecider>([carts, orders, inventory, payments, shipping].map((d) => [d.name, d]))
const overrides = new Map<string, AnyDecider>([['carts.v1', cartsV1]])
const upcasters = buildRegistry([{ file: 'upcasters/item-added.ts', exportName: 'default', value: itemAdded as unknown as Record<string, unknown> }])

export interface PlainBus {
  send: SendCommand
  clock: DemoClock
  store: SqliteEventStore
  /** Closes the store and deletes the temporary folder. */
  close(): Promise<void>
}

export function createPlainBus(): PlainBus {
  const dir = mkdtempSync(join(tmpdir(), 'esw-demo-'))
  let simulatedNow = 0
  const store = new SqliteEventStore(join(dir, 'events.db'), { now: () => simulatedNow })

  const send: SendCommand = async (name, type, data, metadata, options = {}) => {
    const decider = options.deciderOverride ? overrides.get(options.deciderOverride) : deciders.get(name)
    if (!decider) throw new Error(`No decider ${options.deciderOverride ?? name}`)
    const schema = Object.hasOwn(decider.commands, type) ? decider.commands[type] : undefined
    if (!schema) throw new Error(`Decider ${decider.name} has no command ${type}`)
    const command = { type, data: schema.parse(data) as Record<string, unknown>, metadata: { ...metadata } }
    const streamId = decider.streamId ? decider.streamId(command) : `${decider.streamPrefix}-${String(command.data.id)}`

    let state = decider.initialState()
    let version = 0
    for (let from: number | null = 1; from !== null; ) {
      const page = await store.readStream(streamId, { from, limit: 1000 })
      // A decider of the past reads the events as stored, as it did when it ran (no upcaster existed yet).
      const events = options.deciderOverride ? (page.events as never[]) : upcastAll(upcasters, page.events as never[])
      for (const event of events) state = decider.evolve(state, event)
      version = page.version
      from = page.next
    }

    let decided
    try {
      decided = decider.decide(command, state)
    } catch (error) {
      if (error instanceof RuleViolation) return { ok: false, rejected: { rule: error.rule, message: error.message } }
      throw error
    }
    const events = (Array.isArray(decided) ? decided : [decided]).map((event, index) => ({
      id: eventIdFor(metadata.commandId, index),
      type: event.type,
      data: event.data,
      schemaVersion: event.schemaVersion,
      metadata: { ...event.metadata, ...metadata }
    }))
    await store.appendToStream(streamId, events, { expectedVersion: version })
    return { ok: true, events: events.length }
  }

  return {
    send,
    clock: { set: (ms) => void (simulatedNow = ms) },
    store,
    async close() {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
