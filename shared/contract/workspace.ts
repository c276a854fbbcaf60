import { z } from 'zod'
import { defineService, event, method } from '../rpc/contract'

export const definitionKind = z.enum(['domain', 'projections', 'upcasters', 'sagas'])

export const codeProblem = z.object({
  file: z.string(),
  line: z.number().int().nullable(),
  column: z.number().int().nullable(),
  message: z.string(),
  severity: z.enum(['error', 'warning'])
})
export type CodeProblem = z.infer<typeof codeProblem>

export const definitionSummary = z.object({
  kind: z.enum(['decider', 'projection', 'upcaster', 'saga']),
  name: z.string(),
  file: z.string(),
  exportName: z.string()
})

export const workspaceState = z.object({
  path: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  demo: z.boolean(),
  trusted: z.boolean(),
  files: z.array(z.object({ path: z.string(), kind: definitionKind, modifiedAt: z.number() })),
  definitions: z.array(definitionSummary),
  problems: z.array(codeProblem),
  /** Bumped whenever files, trust or definitions change. */
  revision: z.number().int(),
  /** Where the log lives: events.db, or a PostgreSQL server that events.db keeps a working copy of. */
  store: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('sqlite'), file: z.string() }),
    z.object({
      kind: z.literal('postgres'),
      /** The server's URL without a password. */
      location: z.string(),
      schema: z.string(),
      serverHead: z.number().int(),
      localHead: z.number().int(),
      lastSyncAt: z.number().nullable(),
      error: z.string().nullable()
    })
  ])
})
export type WorkspaceState = z.infer<typeof workspaceState>

export const filePath = z.string().min(1).max(300)

export const workspaceService = defineService({
  methods: {
    /** The open workspace: files, definitions, trust, problems. */
    state: method('The open workspace: files, trust, definitions and problems', z.void(), workspaceState),
    /** Trusts the open workspace: its code may run from now on. */
    trust: method('Trusts the open workspace so its code runs', z.void(), workspaceState),
    /** The source of one definition file. */
    readFile: method('Reads one definition file', z.object({ path: filePath }), z.object({ path: filePath, source: z.string(), modifiedAt: z.number() })),
    /** Saves a definition file; it takes effect at once; returns the problems found when loading it. */
    saveFile: method('Saves a definition file and loads it', z.object({ path: filePath, source: z.string().max(2_000_000) }), workspaceState),
    /** Deletes a definition file. */
    deleteFile: method('Deletes a definition file', z.object({ path: filePath }), workspaceState),
    /** Type declarations for the editor: the workbench module and the workspace's own event types. */
    typings: method(
      'TypeScript declarations for the editor',
      z.void(),
      z.object({ files: z.array(z.object({ path: z.string(), content: z.string() })) })
    ),
    /** Workspaces opened recently on this machine. */
    recent: method('Recently opened workspaces', z.void(), z.array(z.object({ path: z.string(), name: z.string(), openedAt: z.number() }))),
    /** Opens another workspace folder (created when it does not exist). */
    open: method(
      'Opens a workspace folder',
      z.object({
        path: z.string().min(1).max(4096),
        create: z.boolean().default(false),
        /** For a new workspace: keep the log in this PostgreSQL store (no password in the URL). */
        postgres: z.object({ url: z.string().min(1).max(2000), schema: z.string().max(63).optional() }).optional(),
        /** The PostgreSQL store's password, when the workbench does not have it yet. */
        password: z.string().max(1000).optional(),
        /** Keep the password in the OS keychain (desktop app only). */
        rememberPassword: z.boolean().optional()
      }),
      workspaceState
    ),
    /** Copies what the PostgreSQL server has and the working copy lacks, metadata and deletes included. */
    sync: method('Brings the working copy of a PostgreSQL store up to the server', z.void(), workspaceState),
    /** Whether passwords can be kept across launches here (the desktop app's keychain). */
    credentialsInfo: method('Whether this host can keep passwords in the OS keychain', z.void(), z.object({ canRemember: z.boolean() })),
    /** Recreates the demo shop from scratch. */
    resetDemo: method('Recreates the demo workspace', z.void(), workspaceState)
  },
  events: {
    /** The workspace changed: a file was saved here or on disk, trust changed, another workspace opened. */
    changed: event('The workspace changed', workspaceState)
  }
})
