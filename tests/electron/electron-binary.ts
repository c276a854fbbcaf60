import { createRequire } from 'node:module'

const require = createRequire(__filename)
const { findElectronBinary } = require('../../scripts/electron-binary.js') as {
  findElectronBinary(): { path: string | null; reason: string | null }
}

export const electron = findElectronBinary()
