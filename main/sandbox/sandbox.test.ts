import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Sandbox } from './sandbox'

const decider = (body: string) => `import { defineDecider, reject, z } from 'workbench'

export default defineDecider({
  name: 'probe',
  streamPrefix: 'probe',
  commands: { Run: z.object({ id: z.string() }) },
  initialState: () => ({ n: 0 }),
  evolve: (state: { n: number }) => ({ n: state.n + 1 }),
  decide: (command, state) => {
${body}
  }
})
`

const handle = (sandbox: Sandbox, file = 'domain/probe.ts', clock = 1_700_000_000_000, seed = 42) =>
  sandbox.call<{ outcome: string; events?: Array<{ type: string; data: Record<string, unknown> }>; rule?: string }>(
    { op: 'decider.handle', file, exportName: 'default', command: { type: 'Run', data: { id: '1' }, metadata: { commandId: 'c' } }, state: null, events: [], clock, seed },
    'probe.decide'
  )

async function withFile(sandbox: Sandbox, body: string, file = 'domain/probe.ts') {
  const reports = await sandbox.setFiles(new Map([[file, decider(body)]]))
  return reports[0]
}

describe('the sandbox', () => {
  let sandbox: Sandbox
  beforeAll(() => {
    sandbox = new Sandbox({ timeoutMs: 300, memoryMb: 64 })
  })
  afterAll(async () => {
    await sandbox.close()
  })

  /** After each attack the host is intact and a normal call works. */
  async function stillWorks() {
    await withFile(sandbox, "    return { type: 'Ran', data: { ok: true } }")
    expect((await handle(sandbox)).result).toMatchObject({ outcome: 'decided', events: [{ type: 'Ran', data: { ok: true } }] })
    expect(typeof process.exit).toBe('function')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  }

  it('runs a decider and returns its events', async () => {
    expect(await withFile(sandbox, "    return [{ type: 'Ran', data: { n: state.n } }]")).toMatchObject({ ok: true })
    const { result } = await handle(sandbox)
    expect(result).toEqual({ outcome: 'decided', streamId: 'probe-1', version: null, state: { n: 0 }, events: [{ type: 'Ran', data: { n: 0 } }] })
  })

  it('reports a business rule rejection', async () => {
    await withFile(sandbox, "    reject('NoProbes', 'probes are refused today')")
    expect((await handle(sandbox)).result).toEqual({ outcome: 'rejected', streamId: 'probe-1', version: null, rule: 'NoProbes', message: 'probes are refused today' })
  })

  it('maps an error back to the line and column of the user TypeScript', async () => {
    await withFile(sandbox, "    const x: { deep?: { value: number } } = {}\n    return { type: 'X', data: { v: x.deep!.value } }")
    const error = await handle(sandbox).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'UserCodeFailed', details: { file: 'domain/probe.ts', line: 11 } })
    expect((error as Error).message).toContain('domain/probe.ts:11:')
  })

  it('reports a syntax error at its place', async () => {
    const report = await sandbox.setFiles(new Map([['domain/broken.ts', 'export const x = {\n  a: 1,\n  b: ;\n}\n']]))
    expect(report[0]).toMatchObject({ ok: false, failure: { location: { file: 'domain/broken.ts', line: 3 } } })
  })

  describe('attacks, each refused or stopped with the host intact and the next call working', () => {
    const attacks: Array<[string, string, RegExp]> = [
      ['reaching process through this.constructor.constructor', "    const F = (this as any)?.constructor?.constructor ?? ({} as any).constructor.constructor\n    return { type: 'X', data: { p: String(F('return process')()) } }", /Code generation from strings disallowed|EvalError/],
      ['reaching process through a function constructor', "    const F = (() => 0).constructor as any\n    return { type: 'X', data: { p: F('return process')() } }", /Code generation from strings disallowed|EvalError/],
      ['reaching process through an error stack hook', "    ;(Error as any).prepareStackTrace = (_e: unknown, frames: any[]) => frames.map((f) => f.getThis())\n    return { type: 'X', data: { v: typeof (Error as any).prepareStackTrace + ':' + typeof new Error('x').stack } }", /=undefined:string/],
      ['reaching the host through a returned object prototype', "    const e: any = { type: 'X', data: {} }\n    return { type: 'X', data: { ctor: String(Object.getPrototypeOf(e).constructor.constructor('return globalThis.process')()) } }", /Code generation from strings disallowed|EvalError/],
      ['require', "    const fs = (globalThis as any).require ? (globalThis as any).require('fs') : require('fs')\n    return { type: 'X', data: { fs: String(fs) } }", /only 'workbench' can be imported|require is not defined/],
      ['eval', "    return { type: 'X', data: { v: eval('1 + 1') } }", /Code generation from strings disallowed|EvalError/],
      ['new Function', "    return { type: 'X', data: { v: new Function('return 1')() } }", /Code generation from strings disallowed|EvalError/],
      ['process and globals of Node', "    return { type: 'X', data: { v: typeof (globalThis as any).process + typeof (globalThis as any).setTimeout + typeof (globalThis as any).fetch } }", /=undefinedundefinedundefined/],
      ['an endless loop', '    for (;;) {}', /ran longer than 300 ms/],
      ['a deep recursion', "    const f = (n: number): number => f(n + 1) + 1\n    return { type: 'X', data: { v: f(0) } }", /Maximum call stack/],
      ['a 2 GB typed allocation', "    const b = new (globalThis as any).Uint8Array(2 * 1024 ** 3)\n    return { type: 'X', data: { n: b.length } }", /Uint8Array is not a constructor|is not defined|Cannot read/],
      ['a huge string', "    return { type: 'X', data: { s: 'x'.repeat(2 ** 31) } }", /Invalid string length|Invalid count/],
      ['forging the answer text through a replaced JSON.stringify', "    ;(JSON as any).stringify = () => '{\"ok\":true,\"result\":{\"outcome\":'\n    return { type: 'X', data: {} }", /something other than its JSON answer/]
    ]
    for (const [name, body, expected] of attacks) {
      it(name, async () => {
        await withFile(sandbox, body)
        const outcome = await handle(sandbox).then(
          (r) => ({ ok: true as const, r }),
          (e: Error) => ({ ok: false as const, e })
        )
        if (expected.source.startsWith('=')) {
          // The attack ran but found nothing: the value it returns shows what it could see.
          expect(outcome.ok).toBe(true)
          expect((outcome as unknown as { r: { result: { events: Array<{ data: { v: string } }> } } }).r.result.events[0].data.v).toBe(expected.source.slice(1))
        } else {
          expect(outcome.ok).toBe(false)
          expect((outcome as { e: Error }).e.message).toMatch(expected)
        }
        await stillWorks()
      })
    }

    it('polluting Object.prototype stays inside the sandbox', async () => {
      await withFile(sandbox, "    ;(Object.prototype as any).polluted = 'yes'\n    ;(Array.prototype as any).push = () => 0\n    return { type: 'X', data: {} }")
      await handle(sandbox)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect([1].push(2)).toBe(2)
      await stillWorks()
    })

    it('a memory bomb kills only the sandbox worker, which is replaced', async () => {
      const before = sandbox.restarts
      await withFile(sandbox, "    const keep: number[][] = []\n    for (;;) keep.push(new Array(1_000_000).fill(1))")
      const error = await handle(sandbox).catch((e: Error) => e)
      expect((error as Error).message).toMatch(/more than 64 MB|ran longer than/)
      expect(sandbox.restarts).toBeGreaterThan(before)
      await stillWorks()
    }, 30_000)

    it('a file that loops while loading is stopped and reported, and the other files still load', async () => {
      const reports = await sandbox.setFiles(
        new Map([
          ['domain/loops.ts', 'while (true) {}\nexport {}\n'],
          ['domain/probe.ts', decider("    return { type: 'Ran', data: {} }")]
        ])
      )
      expect(reports.map((r) => [r.file, r.ok])).toEqual([
        ['domain/loops.ts', false],
        ['domain/probe.ts', true]
      ])
      expect(reports[0].failure?.message).toMatch(/ran longer than 300 ms/)
      expect((await handle(sandbox)).result).toMatchObject({ outcome: 'decided' })
    })

    it('import() is refused', async () => {
      // The first call asks for a module; the second reports what came of it (promise jobs run after each call).
      const body = [
        '    const g = globalThis as any',
        "    if (g.outcome === undefined) {",
        "      g.outcome = 'pending'",
        "      import('node:fs').then(() => (g.outcome = 'loaded'), (e: unknown) => (g.outcome = 'refused: ' + String(e)))",
        "      return { type: 'Asked', data: {} }",
        '    }',
        "    return { type: 'Answered', data: { outcome: g.outcome } }"
      ].join('\n')
      await withFile(sandbox, body)
      await handle(sandbox)
      const { result } = await handle(sandbox)
      const outcome = (result as unknown as { events: Array<{ data: { outcome: string } }> }).events[0].data.outcome
      expect(outcome).toMatch(/^refused: /)
      await stillWorks()
    })
  })

  it('gives every call its own answer, one after another and side by side, small or too large for shared memory', async () => {
    await withFile(sandbox, "    return { type: 'Ran', data: { id: command.data.id, pad: command.data.id.startsWith('big') ? 'x'.repeat(300_000) : '' } }")
    const run = (id: string) =>
      sandbox.call<{ events: Array<{ data: { id: string; pad: string } }> }>(
        { op: 'decider.handle', file: 'domain/probe.ts', exportName: 'default', command: { type: 'Run', data: { id }, metadata: { commandId: id } }, state: null, events: [], clock: 1, seed: 1 },
        'probe.decide'
      )
    const ids = Array.from({ length: 24 }, (_, i) => (i % 3 === 2 ? `big-${i}` : `small-${i}`))
    for (const id of ids) {
      const { data } = (await run(id)).result.events[0]
      expect([data.id, data.pad.length]).toEqual([id, id.startsWith('big') ? 300_000 : 0])
    }
    const together = await Promise.all(ids.map(run))
    expect(together.map((r) => r.result.events[0].data.id)).toEqual(ids)
  })

  describe('state kept for commands', () => {
    const probe = { file: 'domain/probe.ts', exportName: 'default' }
    const command = (seed: number, advances: unknown[] = []) =>
      sandbox.call<Record<string, unknown>>({ op: 'decider.command', ...probe, command: { type: 'Run', data: { id: '1' }, metadata: { commandId: 'c' } }, clock: 1_700_000_000_000, seed, advances }, 'probe.decide')
    const stored = (version: number) => ({ position: version, streamId: 'probe-1', version, type: 'Ran', schemaVersion: 1, id: `00000000-0000-7000-8000-00000000000${version}`, data: {}, metadata: null, recordedAt: 1_700_000_000_000 })

    it('decides for a stream it has not seen on the initial state, as version 0, and folds what the host appended', async () => {
      await withFile(sandbox, "    return { type: 'Ran', data: { n: state.n } }")
      expect((await command(1)).result).toEqual({ outcome: 'decided', streamId: 'probe-1', version: 0, events: [{ type: 'Ran', data: { n: 0 } }] })
      expect((await command(1, [{ ...probe, streamId: 'probe-1', fromVersion: 0, events: [stored(1)] }])).result).toMatchObject({ version: 1, events: [{ data: { n: 1 } }] })
      // An append it did not hear of in order leaves it nothing kept: the initial state again, which the host refuses.
      expect((await command(1, [{ ...probe, streamId: 'probe-1', fromVersion: 5, events: [stored(6)] }])).result).toMatchObject({ version: 0, events: [{ data: { n: 0 } }] })
    })

    it('decides with the command seed whether the state was folded in this call or kept from the last', async () => {
      await withFile(sandbox, "    return { type: 'Ran', data: { r: Math.random() } }")
      const folded = await sandbox.call<{ events: Array<{ data: { r: number } }> }>(
        { op: 'decider.handle', ...probe, command: { type: 'Run', data: { id: '1' }, metadata: { commandId: 'c' } }, state: null, events: [stored(1)], version: 1, clock: 1_700_000_000_000, seed: 9 },
        'probe.decide'
      )
      const kept = await command(9)
      expect(kept.result).toMatchObject({ version: 1 })
      expect((kept.result as { events: Array<{ data: { r: number } }> }).events[0].data.r).toBe(folded.result.events[0].data.r)
    })
  })

  describe('determinism', () => {
    it('gives identical results twice, even when the code reads Date.now() and Math.random()', async () => {
      const body = "    return { type: 'Timed', data: { now: Date.now(), iso: new Date().toISOString(), r: Math.random(), r2: Math.random() } }"
      await withFile(sandbox, body)
      const a = await handle(sandbox, undefined, 1_700_000_000_000, 7)
      const other = new Sandbox({ timeoutMs: 300 })
      await other.setFiles(new Map([['domain/probe.ts', decider(body)]]))
      const b = await handle(other, undefined, 1_700_000_000_000, 7)
      await other.close()
      expect(a.result).toEqual(b.result)
      const data = (a.result as unknown as { events: Array<{ data: { now: number; iso: string; r: number; r2: number } }> }).events[0].data
      expect(data.now).toBe(1_700_000_000_000)
      expect(data.iso).toBe(new Date(1_700_000_000_000).toISOString())
      expect(data.r).not.toBe(data.r2)
      const c = await handle(sandbox, undefined, 1_700_000_000_000, 8)
      expect((c.result as unknown as { events: Array<{ data: { r: number } }> }).events[0].data.r).not.toBe(data.r)
    })
  })
})
