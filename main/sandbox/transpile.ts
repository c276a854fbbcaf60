import { transformSync } from 'esbuild'

export interface Transpiled {
  code: string
  map: string
}

export interface TranspileFailure {
  message: string
  line: number
  column: number
}

/** TypeScript → CommonJS JavaScript with a source map, by esbuild. Type errors are the editor's job; syntax errors stop here. */
export function transpile(file: string, source: string): Transpiled | { error: TranspileFailure } {
  try {
    const result = transformSync(source, {
      loader: 'ts',
      format: 'cjs',
      target: 'es2022',
      sourcemap: 'external',
      sourcefile: file,
      logLevel: 'silent'
    })
    return { code: result.code, map: result.map }
  } catch (error) {
    const first = (error as { errors?: Array<{ text: string; location?: { line: number; column: number } }> }).errors?.[0]
    return {
      error: {
        message: first?.text ?? (error instanceof Error ? error.message : String(error)),
        line: first?.location?.line ?? 1,
        column: (first?.location?.column ?? 0) + 1
      }
    }
  }
}
