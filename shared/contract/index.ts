import { workbenchService } from './workbench'

/** The whole IPC surface of the workbench: every service, its methods and its events. */
export const contract = {
  workbench: workbenchService
}

export type WorkbenchContract = typeof contract
export * from './workbench'
