import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { APP_ID, EXECUTABLE_NAME } from './app-identity'

const root = join(__dirname, '..', '..')
const require = createRequire(__filename)
const { nativeModules } = require('../../scripts/native-modules.js') as { nativeModules(dir?: string): Array<{ name: string; reason: string }> }
const { iconFiles, ICO_SIZES } = require('../../scripts/icons.js') as { iconFiles(): Map<string, Buffer>; ICO_SIZES: number[] }

interface Target {
  target: string
  arch?: string[]
}
const config = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as {
  appId: string
  productName: string
  executableName: string
  files: string[]
  asarUnpack: string[]
  npmRebuild: boolean
  fileAssociations: Array<{ ext: string[]; mimeType: string }>
  mac: { icon: string; target: Target[]; x64ArchFiles: string }
  win: { icon: string; target: Target[] }
  linux: { icon: string; target: Target[]; mimeTypes: string[] }
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { productName: string; main: string; scripts: Record<string, string> }

/** Whether a glob of the builder config matches a path (`**` any depth, `*` within one folder). */
function matches(glob: string, path: string): boolean {
  const pattern = glob
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*')
  return new RegExp(`^${pattern}$`).test(path)
}

describe('the packaged app', () => {
  it('has one identity: app id, names and the executable agree with the code', () => {
    expect(config.appId).toBe(APP_ID)
    expect(config.productName).toBe(pkg.productName)
    expect(config.executableName).toBe(EXECUTABLE_NAME)
  })

  it('builds an NSIS installer for Windows, a universal dmg for macOS, an AppImage and a deb for Linux', () => {
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis'])
    expect(config.mac.target).toEqual([{ target: 'dmg', arch: ['universal'] }])
    expect(config.linux.target.map((t) => t.target).sort()).toEqual(['AppImage', 'deb'])
  })

  it('keeps every native module of the production dependencies out of the asar archive, and rebuilds them for Electron', () => {
    const native = nativeModules(root)
    expect(native.map((m) => m.name)).toContain('better-sqlite3')
    for (const { name } of native) {
      expect(config.asarUnpack.some((glob) => matches(glob, `node_modules/${name}/build/Release/addon.node`)), `${name} must be unpacked`).toBe(true)
    }
    expect(config.asarUnpack.some((glob) => matches(glob, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true)
    expect(config.npmRebuild).toBe(true)
  })

  it('lets a universal macOS build carry both of esbuild`s binaries', () => {
    for (const arch of ['arm64', 'x64']) {
      expect(matches(config.mac.x64ArchFiles, `Contents/Resources/app.asar.unpacked/node_modules/@esbuild/darwin-${arch}/bin/esbuild`)).toBe(true)
    }
  })

  it('ships the built app and nothing of the sources', () => {
    expect(config.files).toContain('out/**')
    expect(config.files).toContain('package.json')
    expect(config.files.some((f) => /^(main|renderer|shared|preload|tests)\//.test(f))).toBe(false)
    expect(pkg.main.startsWith('out/')).toBe(true)
    expect(config.files.some((glob) => matches(glob, 'build/icons/512x512.png'))).toBe(true)
  })

  it('opens .ndjson event logs on every system', () => {
    const association = config.fileAssociations.find((a) => a.ext.includes('ndjson'))
    expect(association).toMatchObject({ mimeType: 'application/x-ndjson' })
    expect(config.linux.mimeTypes).toContain('application/x-ndjson')
  })

  it('has a dist script for the current system', () => {
    expect(pkg.scripts.dist).toBe('node scripts/dist.js')
  })
})

describe('the app icon', () => {
  it('exists in every form the three systems use', () => {
    for (const file of [config.mac.icon, config.win.icon, 'build/icon.png', 'build/icon.svg']) expect(existsSync(join(root, file)), file).toBe(true)
    for (const size of [16, 32, 48, 64, 128, 256, 512]) expect(existsSync(join(root, config.linux.icon, `${size}x${size}.png`))).toBe(true)
  })

  it('is what build/icon.svg renders to (run `node scripts/icons.js` after changing it)', () => {
    for (const [name, data] of iconFiles()) expect(readFileSync(join(root, 'build', name)).equals(data), name).toBe(true)
  })

  it('holds PNG images of the expected sizes in the .ico and the .icns', () => {
    const ico = readFileSync(join(root, config.win.icon))
    expect(ico.readUInt16LE(2)).toBe(1)
    expect(ico.readUInt16LE(4)).toBe(ICO_SIZES.length)
    expect(ico.readUInt8(6 + 16 * (ICO_SIZES.length - 1))).toBe(0) // 256 px is written as 0
    const icns = readFileSync(join(root, config.mac.icon))
    expect(icns.toString('ascii', 0, 4)).toBe('icns')
    expect(icns.readUInt32BE(4)).toBe(icns.length)
    const types: string[] = []
    for (let at = 8; at < icns.length; at += icns.readUInt32BE(at + 4)) types.push(icns.toString('ascii', at, at + 4))
    expect(types).toEqual(expect.arrayContaining(['icp4', 'ic07', 'ic08', 'ic09', 'ic10', 'ic14']))
  })
})
