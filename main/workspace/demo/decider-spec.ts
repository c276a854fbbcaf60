import { expect } from 'vitest'
import { RuleViolation, type Decider } from 'workbench'

/**
 * Given/when/then specifications for deciders, in Emmett's style:
 * `spec(carts).given([...events]).when({ type: 'AddItem', data }).then([...events])`, `.thenRejects('Rule')`,
 * or `.thenInvalid('lines[0].quantity')` when the command's schema refuses its data.
 * (The chain has a `then` method, so write each spec as a statement: never return or await it.)
 */

export interface SpecEvent {
  type: string
  data: Record<string, unknown>
  schemaVersion?: number
}

type Outcome = { kind: 'events'; events: SpecEvent[] } | { kind: 'rejected'; rule: string; message: string } | { kind: 'invalid'; paths: string[] }

export function spec<State>(decider: Decider<State>) {
  return {
    given(events: SpecEvent[] = []) {
      return {
        when(command: { type: string; data: Record<string, unknown> }) {
          const run = () => handle(decider, events, command)
          return {
            then(expected: SpecEvent[]) {
              expect(run()).toEqual({ kind: 'events', events: expected })
            },
            thenRejects(rule: string, message?: RegExp) {
              const outcome = run()
              expect(outcome).toMatchObject({ kind: 'rejected', rule })
              if (message) expect((outcome as { message: string }).message).toMatch(message)
            },
            thenInvalid(path: string) {
              expect(run()).toMatchObject({ kind: 'invalid', paths: expect.arrayContaining([path]) })
            }
          }
        }
      }
    }
  }
}

function handle<State>(decider: Decider<State>, given: SpecEvent[], command: { type: string; data: Record<string, unknown> }): Outcome {
  const schema = decider.commands[command.type]
  if (!schema) throw new Error(`Decider ${decider.name} has no command ${command.type}`)
  const parsed = schema.safeParse(command.data)
  if (!parsed.success) return { kind: 'invalid', paths: parsed.error.issues.map((issue) => formatPath(issue.path)) }

  const full = { type: command.type, data: parsed.data as Record<string, unknown>, metadata: { commandId: 'spec', correlationId: 'spec' } }
  const streamId = decider.streamId ? decider.streamId(full) : `${decider.streamPrefix}-spec`
  // Given events look as they do coming out of the store: version 1 unless they say otherwise.
  const state = given.reduce(
    (s, event, i) =>
      decider.evolve(s, { ...event, schemaVersion: event.schemaVersion ?? 1, metadata: null, streamId, version: i + 1, position: i + 1, recordedAt: 0 }),
    decider.initialState()
  )
  try {
    const decided = decider.decide(full, state)
    const events = (Array.isArray(decided) ? decided : [decided]).map(({ type, data, schemaVersion }) =>
      schemaVersion === undefined ? { type, data } : { type, data, schemaVersion }
    )
    return { kind: 'events', events: JSON.parse(JSON.stringify(events)) as SpecEvent[] }
  } catch (error) {
    if (error instanceof RuleViolation) return { kind: 'rejected', rule: error.rule, message: error.message }
    throw error
  }
}

/** Issue paths as the engine shows them: `lines[0].quantity`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`
  return out === '' ? '(root)' : out
}
