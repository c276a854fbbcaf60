import { describe, expect, it } from 'vitest'
import { esbuildBinaryModule, unpackedPath } from './esbuild-binary'

describe('esbuild in the packaged app', () => {
  it('names the binary as esbuild looks for it on each system', () => {
    expect(esbuildBinaryModule('linux', 'x64')).toBe('@esbuild/linux-x64/bin/esbuild')
    expect(esbuildBinaryModule('darwin', 'arm64')).toBe('@esbuild/darwin-arm64/bin/esbuild')
    expect(esbuildBinaryModule('win32', 'x64')).toBe('@esbuild/win32-x64/esbuild.exe')
  })

  it('points into app.asar.unpacked instead of the archive', () => {
    expect(unpackedPath('/opt/EW/resources/app.asar/node_modules/@esbuild/linux-x64/bin/esbuild', '/')).toBe(
      '/opt/EW/resources/app.asar.unpacked/node_modules/@esbuild/linux-x64/bin/esbuild'
    )
    expect(unpackedPath('C:\\EW\\resources\\app.asar\\node_modules\\@esbuild\\win32-x64\\esbuild.exe', '\\')).toBe(
      'C:\\EW\\resources\\app.asar.unpacked\\node_modules\\@esbuild\\win32-x64\\esbuild.exe'
    )
    expect(unpackedPath('/repo/node_modules/@esbuild/linux-x64/bin/esbuild', '/')).toBe('/repo/node_modules/@esbuild/linux-x64/bin/esbuild')
  })
})
