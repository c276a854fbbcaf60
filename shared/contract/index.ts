import { commandsService } from './commands'
import { jobsService } from './jobs'
import { projectionsService } from './projections'
import { replayService } from './replay'
import { sagasService } from './sagas'
import { storeService } from './store'
import { upcastersService } from './upcasting'
import { versioningService } from './versioning'
import { workbenchService } from './workbench'
import { workspaceService } from './workspace'

/** The whole IPC surface of the workbench: every service, its methods and its events. */
export const contract = {
  workbench: workbenchService,
  store: storeService,
  jobs: jobsService,
  workspace: workspaceService,
  commands: commandsService,
  replay: replayService,
  projections: projectionsService,
  versioning: versioningService,
  upcasters: upcastersService,
  sagas: sagasService
}

export type WorkbenchContract = typeof contract
export * from './workbench'
export * from './store'
export * from './jobs'
export * from './workspace'
export * from './commands'
export * from './replay'
export * from './projections'
export * from './versioning'
export * from './upcasting'
export * from './sagas'
