import { contract, type WorkbenchContract, type WorkbenchInfo } from '../shared/contract'
import { EventHub } from '../shared/rpc/events'
import type { Implementation } from '../shared/rpc/contract'
import { APP_NAME, APP_VERSION } from './app-info'

export interface WorkbenchOptions {
  host: WorkbenchInfo['host']
  /** The workspace folder; null opens the workbench with no workspace. */
  workspaceDir?: string | null
}

/** Every service of one workbench, ready to be served over any transport. */
export interface Workbench {
  contract: WorkbenchContract
  implementation: Implementation<WorkbenchContract>
  events: EventHub<WorkbenchContract>
  close(): Promise<void>
}

/** The composition root: builds every service for one workspace. */
export async function openWorkbench(options: WorkbenchOptions): Promise<Workbench> {
  const events = new EventHub<WorkbenchContract>()
  const workspacePath = options.workspaceDir ?? null

  const implementation: Implementation<WorkbenchContract> = {
    workbench: {
      info: () => ({
        appName: APP_NAME,
        appVersion: APP_VERSION,
        workspacePath,
        workspaceName: null,
        trusted: workspacePath === null,
        host: options.host,
        capabilities: []
      }),
      ping: () => ({ pong: true as const, serverTime: Date.now() }),
      echo: ({ text, repeat }) => {
        const out = text.repeat(repeat ?? 1)
        events.emit('workbench', 'echoed', { text: out, at: Date.now() })
        return { text: out }
      }
    }
  }

  return {
    contract,
    implementation,
    events,
    close: async () => {}
  }
}
