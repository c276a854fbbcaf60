/**
 * The definition API of the `workbench` module that user code imports. These are the shapes the engine reads
 * back from a definition file; the editor's `workbench.d.ts` (workbench-dts.ts) describes the same API to Monaco.
 */

/** An event as user code sees it (in evolve, handlers, upcasters). */
export interface DomainEvent<Type extends string = string, Data = Record<string, unknown>> {
  type: Type
  data: Data
  metadata: Record<string, unknown> | null
  streamId: string
  version: number
  position: number
  schemaVersion: number
  recordedAt: number
}

/** An event as decide returns it. */
export interface NewDomainEvent<Type extends string = string, Data = Record<string, unknown>> {
  type: Type
  data: Data
  metadata?: Record<string, unknown>
  schemaVersion?: number
}

/** A command as decide receives it: its type (the command name), its validated data and metadata. */
export interface DomainCommand<Type extends string = string, Data = Record<string, unknown>> {
  type: Type
  data: Data
  metadata: { commandId: string; correlationId: string; causationId?: string; idempotencyKey?: string; [key: string]: unknown }
}

/** Kinds of definition files, by folder. */
export const definitionKinds = ['domain', 'projections', 'upcasters', 'sagas'] as const
export type DefinitionKind = (typeof definitionKinds)[number]

/** What the engine learns about a decider from its file, in plain data. */
export interface DeciderDescriptor {
  kind: 'decider'
  name: string
  streamPrefix: string
  file: string
  snapshotEvery: number | null
  commands: Array<{ name: string; description: string | null; schema: unknown }>
}

/** A business rule refused a command. */
export interface RejectionShape {
  rule: string
  message: string
}
