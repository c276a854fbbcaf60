import { mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where the workbench keeps its own data: ESW_HOME, or a folder in the user's home. */
export function workbenchHome(): string {
  return process.env.ESW_HOME ?? join(homedir(), '.event-workbench')
}

export function defaultWorkspaceDir(): string {
  return join(workbenchHome(), 'workspaces', 'demo')
}

/** The files of a workspace folder. */
export function workspacePaths(dir: string) {
  return {
    dir,
    database: join(dir, 'events.db'),
    exports: join(dir, 'exports'),
    uploads: join(dir, '.uploads')
  }
}

export function ensureWorkspaceDir(dir: string): ReturnType<typeof workspacePaths> {
  const paths = workspacePaths(dir)
  mkdirSync(paths.dir, { recursive: true })
  mkdirSync(paths.exports, { recursive: true })
  mkdirSync(paths.uploads, { recursive: true })
  return paths
}
