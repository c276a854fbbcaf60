import { join } from 'node:path'
import { openWorkbench, type Workbench } from '../../../main/services'
import { contract } from '../../../shared/contract'
import { connect } from '../../../shared/rpc/client'
import { createMemoryPair } from '../../../shared/rpc/memory'
import { serve } from '../../../shared/rpc/server'
import { MemoryCredentials } from '../../../main/workspace/credentials'
import { TrustRegistry } from '../../../main/workspace/trust'

export interface Bench {
  wb: Workbench
  rpc: ReturnType<typeof connect<typeof contract>>
}

/** A workbench served over the contract (inputs validated as from the renderer), its folders under `home`. */
export async function servedWorkbench(home: string, name: string): Promise<Bench> {
  const wb = await openWorkbench({ host: 'test', workspaceDir: join(home, `${name}-local`), trust: new TrustRegistry(join(home, `${name}-home`)), credentials: new MemoryCredentials({}), seedDemo: false })
  const [a, b] = createMemoryPair()
  serve(wb.contract, wb.implementation, a, { events: wb.events })
  return { wb, rpc: connect(contract, b) }
}

/** Reads until `ok` holds (a read that throws counts as its error), or fails naming what it waited for. */
export async function until<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = await Promise.resolve()
      .then(read)
      .catch((error: unknown) => error as T)
    if (ok(value)) return value
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
