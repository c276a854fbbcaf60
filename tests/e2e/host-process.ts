import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export interface RunningHost {
  url: string
  process: ChildProcess
  stop(): Promise<void>
}

const root = join(__dirname, '..', '..')

/** Starts the built browser host (`out/main/host.js`) and waits for the URL it prints. */
export function startHostProcess(args: string[] = []): Promise<RunningHost> {
  const child = spawn(process.execPath, [join(root, 'out', 'main', 'host.js'), '--port', '0', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The browser host did not print its URL in time:\n${output}`)), 60_000)
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
      const match = /Event Workbench at (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve({
          url: match[1],
          process: child,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done()
              child.once('exit', () => done())
              child.kill('SIGINT')
            })
        })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`The browser host exited with code ${code}:\n${output}`))
    })
  })
}
