import { createRequire } from 'node:module'
import { esbuildBinaryModule, unpackedPath } from './esbuild-binary'

// Runs before anything loads esbuild, which reads ESBUILD_BINARY_PATH once, when it is first required.
// In the packaged app esbuild would otherwise try to start its binary from inside app.asar, which cannot work.
if (__dirname.includes('app.asar') && !process.env.ESBUILD_BINARY_PATH) {
  try {
    const resolveFrom = createRequire(__filename)
    process.env.ESBUILD_BINARY_PATH = unpackedPath(resolveFrom.resolve(esbuildBinaryModule(process.platform, process.arch)))
  } catch {
    // No binary for this platform in the package: transpiling user code reports the error where it happens.
  }
}

import('./main').catch((error: unknown) => {
  console.error('Event Workbench could not load:', error)
  process.exit(1)
})
