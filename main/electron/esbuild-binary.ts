import { sep } from 'node:path'

/** The file of esbuild's native binary in its platform package, as esbuild itself looks for it. */
export function esbuildBinaryModule(platform: NodeJS.Platform, arch: string): string {
  return platform === 'win32' ? `@esbuild/win32-${arch}/esbuild.exe` : `@esbuild/${platform}-${arch}/bin/esbuild`
}

/**
 * The unpacked copy of a file inside the app's asar archive. A program cannot be started from inside the
 * archive, so the packaged app unpacks esbuild's binary (see electron-builder.yml) and points esbuild at it.
 */
export function unpackedPath(path: string, separator: string = sep): string {
  const packed = `app.asar${separator}`
  const at = path.indexOf(packed)
  return at < 0 ? path : `${path.slice(0, at)}app.asar.unpacked${separator}${path.slice(at + packed.length)}`
}
