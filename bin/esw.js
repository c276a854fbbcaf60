#!/usr/bin/env node
// The `esw` command: runs the built command line from out/main (built by `npm install` or `npm run build`).
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const cli = join(__dirname, '..', 'out', 'main', 'cli.js')
if (!existsSync(cli)) {
  process.stderr.write('esw: the command line is not built yet; run `npm run build` in the Event Workbench folder.\n')
  process.exit(1)
}
require(cli)
