import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { contract } from '../../shared/contract'
import { connect } from '../../shared/rpc/client'
import type { Protocol } from '../../shared/rpc/protocol'
import { openWorkbench, type Workbench } from '../services'
import { startBrowserHost, type BrowserHost } from './server'

let host: BrowserHost
let rendererDir: string
let workbench: Workbench

beforeEach(async () => {
  rendererDir = mkdtempSync(join(tmpdir(), 'esw-renderer-'))
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Event Workbench</title>')
  writeFileSync(join(rendererDir, 'app.js'), 'console.log(1)')
  workbench = await openWorkbench({ host: 'test', workspaceDir: join(rendererDir, 'workspace'), downloads: true })
  host = await startBrowserHost({ workbench, rendererDir, maxMessageBytes: 64 * 1024 })
})
afterEach(async () => {
  await host.close()
  await workbench.close()
})

const base = () => `http://127.0.0.1:${host.port}`
const wsUrl = (token?: string) => `ws://127.0.0.1:${host.port}/rpc${token === undefined ? '' : `?token=${token}`}`

/** Opens a WebSocket and resolves with the HTTP status it was refused with, or 101 when it opened. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers })
    socket.on('open', () => {
      socket.close()
      resolve(101)
    })
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    socket.on('error', () => resolve(-1))
  })
}

function openSocket(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(host.token), { headers: { origin: base() } })
    socket.on('open', () => resolve(socket))
    socket.on('error', reject)
  })
}

function nextMessage(socket: WebSocket): Promise<{ id: number | null; ok: boolean; e?: { code: string; message: string }; r?: unknown }> {
  return new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))))
}

function socketProtocol(socket: WebSocket): Protocol {
  return {
    send: (m) => socket.send(m),
    onMessage: (l) => {
      const h = (d: WebSocket.RawData) => l(String(d))
      socket.on('message', h)
      return () => socket.off('message', h)
    }
  }
}

describe('browser host', () => {
  it('prints a loopback URL with a token and listens on 127.0.0.1 only', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/)
  })

  it('refuses a WebSocket upgrade without a token', async () => {
    expect(await upgradeStatus(wsUrl())).toBe(401)
  })

  it('refuses a WebSocket upgrade with a wrong token', async () => {
    expect(await upgradeStatus(wsUrl('not-the-token'))).toBe(401)
  })

  it('refuses a WebSocket upgrade from a foreign Origin even with the token', async () => {
    expect(await upgradeStatus(wsUrl(host.token), { origin: 'http://evil.example' })).toBe(403)
  })

  it('refuses a request whose Host header is not this host (DNS rebinding)', async () => {
    expect(await upgradeStatus(wsUrl(host.token), { host: `attacker.example:${host.port}` })).toBe(403)
  })

  it('accepts the right token from the same origin and serves RPC', async () => {
    const socket = await openSocket()
    const client = connect(contract, socketProtocol(socket))
    const info = await client.workbench.info()
    expect(info.appName).toBe('Event Workbench')
    expect(await client.workbench.echo({ text: 'hi', repeat: 2 })).toEqual({ text: 'hihi' })
    socket.close()
  })

  it('answers a malformed JSON frame with an error and keeps serving', async () => {
    const socket = await openSocket()
    const reply = nextMessage(socket)
    socket.send('{"t":"req",')
    expect(await reply).toMatchObject({ id: null, ok: false, e: { code: 'InvalidInput', message: expect.stringContaining('not JSON') } })
    const client = connect(contract, socketProtocol(socket))
    expect((await client.workbench.ping()).pong).toBe(true)
    socket.close()
  })

  it('refuses an oversize frame by closing that connection, and stays up for others', async () => {
    const socket = await openSocket()
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)))
    socket.send('x'.repeat(128 * 1024))
    expect(await closed).toBe(1009)
    const other = await openSocket()
    const client = connect(contract, socketProtocol(other))
    expect((await client.workbench.ping()).pong).toBe(true)
    other.close()
  })

  it('serves pages only with the token, sets a cookie, then serves assets with the cookie', async () => {
    expect((await fetch(`${base()}/`)).status).toBe(401)
    expect((await fetch(`${base()}/?token=wrong`)).status).toBe(401)
    const page = await fetch(`${base()}/?token=${host.token}`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    const cookie = page.headers.get('set-cookie')?.split(';')[0]
    expect(cookie).toBeTruthy()
    expect((await fetch(`${base()}/app.js`)).status).toBe(401)
    expect((await fetch(`${base()}/app.js`, { headers: { cookie: cookie! } })).status).toBe(200)
  })

  it('serves an export for download with the token only', async () => {
    writeFileSync(join(workbench.exportsDir, 'events-1.ndjson'), '{"position":1}\n')
    expect((await fetch(`${base()}/exports/events-1.ndjson`)).status).toBe(401)
    const res = await fetch(`${base()}/exports/events-1.ndjson?token=${host.token}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toContain('attachment')
    expect(await res.text()).toBe('{"position":1}\n')
  })

  it('refuses a path that escapes the renderer folder', async () => {
    const res = await fetch(`${base()}/..%2f..%2fetc%2fpasswd?token=${host.token}`)
    expect([403, 404]).toContain(res.status)
  })
})
