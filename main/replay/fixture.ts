import type { RecordedEvent } from '../../shared/model/events'

export interface FixtureInput {
  streamId: string
  decider: string
  deciderFile: string
  given: RecordedEvent[]
  when: RecordedEvent[]
  then: unknown
}

/** Only what a test needs of an event: type, data, and the fields user code may read. */
function plain(e: RecordedEvent) {
  return { type: e.type, data: e.data, metadata: e.metadata, schemaVersion: e.schemaVersion, streamId: e.streamId, version: e.version, position: e.position, recordedAt: e.recordedAt }
}

const json = (value: unknown, indent: string) => JSON.stringify(value, null, 2).split('\n').join(`\n${indent}`)

/**
 * A given/when/then specification of a stream slice, to paste into a test in one's own codebase: the events
 * before as given, the next events as when, and the state they lead to as then (as recorded by this replay).
 */
export function buildFixture(input: FixtureInput): { typescript: string; json: string; fileName: string } {
  const id = /^[A-Za-z_$][\w$]*$/.test(input.decider) ? input.decider : `decider_${input.decider.replace(/[^\w$]/g, '_')}`
  const given = input.given.map(plain)
  const when = input.when.map(plain)
  const range = (events: RecordedEvent[]) => (events.length ? `${events[0].version}–${events.at(-1)!.version}` : 'none')
  const title = `${input.decider}: ${input.streamId}, given versions ${range(input.given)}, when ${range(input.when)}`
  const importPath = `./${input.deciderFile.replace(/\.ts$/, '')}`
  const typescript = `// Given/when/then specification exported from a replay of ${input.streamId}.
// given: the events before; when: the events that follow; then: the state they lead to.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import ${id} from '${importPath}'

type Event = Parameters<typeof ${id}.evolve>[1]

const given: Event[] = ${json(given, '')} as unknown as Event[]

const when: Event[] = ${json(when, '')} as unknown as Event[]

const then = ${json(input.then, '')}

/** Emmett-style: fold the given events, apply the when events, compare with the expected state. */
function spec(events: Event[]) {
  return {
    when: (next: Event[]) => ({
      then: (expected: unknown) => {
        const state = [...events, ...next].reduce((s, e) => ${id}.evolve(s, e), ${id}.initialState())
        assert.deepEqual(JSON.parse(JSON.stringify(state)), expected)
      }
    })
  }
}

describe(${JSON.stringify(title)}, () => {
  it('evolves to the recorded state', () => {
    spec(given).when(when).then(then)
  })
})
`
  const fileName = `${input.streamId.replace(/[^A-Za-z0-9_.-]/g, '_')}.v${input.given.length + 1}-${input.given.length + input.when.length}.spec.ts`
  return { typescript, json: JSON.stringify({ streamId: input.streamId, decider: input.decider, given, when, then: { state: input.then } }, null, 2) + '\n', fileName }
}
