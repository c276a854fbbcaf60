import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { openWorkbench } from '../services'
import { startBrowserHost } from './server'

// `npm run serve`: the workbench in a browser, on 127.0.0.1, behind a per-launch token.
async function main() {
  const args = process.argv.slice(2)
  const option = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const port = Number(option('--port') ?? process.env.ESW_PORT ?? 0)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${option('--port')}`)
  const rendererDir = resolve(option('--renderer') ?? join(__dirname, '..', 'renderer'))
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`No built renderer at ${rendererDir}; run \`npm run build\` first`)
  }
  const workspace = option('--workspace')
  const demoEvents = option('--demo-events')
  const workbench = await openWorkbench({
    host: 'browser',
    workspaceDir: workspace ? resolve(workspace) : null,
    downloads: true,
    demoEvents: demoEvents ? Number(demoEvents) : undefined
  })
  const host = await startBrowserHost({ workbench, rendererDir, port })
  console.log(`Event Workbench at ${host.url}`)

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await host.close()
    await workbench.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())
}

main().catch((error: unknown) => {
  console.error(`Event Workbench could not start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
