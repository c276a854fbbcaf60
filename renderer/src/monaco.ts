import * as monaco from 'monaco-editor'
import editorWorker from 'monaco-editor/editor/editor.worker?worker'
import jsonWorker from 'monaco-editor/language/json/json.worker?worker'
import tsWorker from 'monaco-editor/language/typescript/ts.worker?worker'

declare global {
  interface Window {
    MonacoEnvironment?: { getWorker(workerId: string, label: string): Worker }
  }
}

self.MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    if (label === 'json') return new jsonWorker()
    if (label === 'typescript' || label === 'javascript') return new tsWorker()
    return new editorWorker()
  }
}

const ts = monaco.typescript
// As the engine checks definition files: ES2022 and nothing of the browser (user code runs in a sandbox).
ts.typescriptDefaults.setCompilerOptions({
  target: ts.ScriptTarget.ES2020,
  lib: ['es2022'],
  module: ts.ModuleKind.ESNext,
  // Node resolution finds `workbench` at file:///node_modules/@types/workbench/index.d.ts, where its typings go.
  moduleResolution: ts.ModuleResolutionKind.NodeJs,
  strict: true,
  noEmit: true,
  allowNonTsExtensions: true
})
ts.typescriptDefaults.setDiagnosticsOptions({ noSemanticValidation: false, noSyntaxValidation: false })
// @debt The sandbox gives user code a console whose output goes to the call's logs; workbench.d.ts does not declare it yet.
ts.typescriptDefaults.addExtraLib(
  'declare const console: { log(...values: unknown[]): void; warn(...values: unknown[]): void; error(...values: unknown[]): void }\n',
  'file:///node_modules/@types/workbench-sandbox/index.d.ts'
)

/** A problem at a place in a file: line and column start at 1; no line marks the first line. */
export interface EditorProblem {
  line: number | null
  column: number | null
  message: string
  severity: 'error' | 'warning'
}

/** The owner of the markers the engine's problems become, apart from the TypeScript worker's. */
export const ENGINE_MARKER_OWNER = 'workbench'

const typings = new Map<string, { content: string; lib: monaco.IDisposable }>()

/** Registers the engine's declarations (the `workbench` module, the log's event types) with the TypeScript worker. */
export function applyTypings(files: Array<{ path: string; content: string }>): void {
  const wanted = new Set(files.map((f) => f.path))
  for (const [path, known] of typings) {
    if (wanted.has(path)) continue
    known.lib.dispose()
    typings.delete(path)
  }
  for (const file of files) {
    if (typings.get(file.path)?.content === file.content) continue
    typings.set(file.path, { content: file.content, lib: ts.typescriptDefaults.addExtraLib(file.content, file.path) })
  }
}

const jsonSchemas = new Map<string, unknown>()

/** Lets the JSON editor of one model (by its path) check and complete against a JSON Schema. */
export function setJsonSchema(path: string, schema: unknown | null): void {
  const uri = monaco.Uri.parse(`file:///${path}`).toString()
  if (schema === null) jsonSchemas.delete(uri)
  else {
    // A plain copy (the worker cannot receive a reactive proxy); without $schema, whose draft the service warns about.
    const { $schema: _draft, ...rest } = JSON.parse(JSON.stringify(schema ?? {})) as Record<string, unknown>
    jsonSchemas.set(uri, rest)
  }
  monaco.json.jsonDefaults.setDiagnosticsOptions({
    validate: true,
    schemas: [...jsonSchemas].map(([fileUri, s]) => ({ uri: `${fileUri}#schema`, fileMatch: [fileUri], schema: s as object }))
  })
}

const quietModels = new Set<string>()

/**
 * Keeps the TypeScript worker's diagnostics off a model: for code shown to read or copy (an exported fixture), whose
 * imports point into another codebase and would only show as errors here.
 */
export function quietDiagnostics(model: monaco.editor.ITextModel): monaco.IDisposable {
  const uri = model.uri.toString()
  quietModels.add(uri)
  monaco.editor.setModelMarkers(model, 'typescript', [])
  return { dispose: () => quietModels.delete(uri) }
}

monaco.editor.onDidChangeMarkers((uris) => {
  for (const uri of uris) {
    if (!quietModels.has(uri.toString())) continue
    const model = monaco.editor.getModel(uri)
    // Only clears markers that are there, so the change it causes ends here.
    if (model && monaco.editor.getModelMarkers({ resource: uri, owner: 'typescript' }).length) monaco.editor.setModelMarkers(model, 'typescript', [])
  }
})

/** Follows the system's light or dark preference. */
export function preferredTheme(): 'vs' | 'vs-dark' {
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'vs-dark' : 'vs'
}

window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => monaco.editor.setTheme(preferredTheme()))

export { monaco }
