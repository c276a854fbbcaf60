import { randomBytes } from 'node:crypto'
import { createReadStream, promises as fs } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import { WebSocketServer } from 'ws'
import { MAX_MESSAGE_BYTES } from '../../shared/rpc/channel'
import { serve } from '../../shared/rpc/server'
import { contentSecurityPolicy } from '../security/csp'
import type { Workbench } from '../services'
import { checkAccess, tokenCookieName } from './access'
import { webSocketProtocol } from './ws-protocol'

export interface HostOptions {
  workbench: Workbench
  /** The built renderer (out/renderer). */
  rendererDir: string
  /** 0 or absent picks a free port. */
  port?: number
  maxMessageBytes?: number
}

export interface BrowserHost {
  url: string
  port: number
  token: string
  /** Number of open WebSocket connections. */
  connections(): number
  close(): Promise<void>
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.ndjson': 'application/x-ndjson'
}

/** Serves the built renderer and the workbench's RPC over a WebSocket, on 127.0.0.1 only, behind a per-launch token. */
export async function startBrowserHost(options: HostOptions): Promise<BrowserHost> {
  const token = randomBytes(24).toString('base64url')
  const maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES
  let port = 0

  const server = createServer((request, response) => {
    void handleHttp(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' })
      response.end(`Internal error: ${error instanceof Error ? error.message : String(error)}`)
    })
  })

  const handleHttp = async (request: IncomingMessage, response: ServerResponse) => {
    const verdict = checkAccess(request, { port, token })
    if (!verdict.ok) {
      response.writeHead(verdict.status, { 'content-type': 'text/plain; charset=utf-8' })
      response.end(`${verdict.status === 401 ? 'Unauthorized' : 'Forbidden'}: ${verdict.reason}\n`)
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' })
      response.end()
      return
    }
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`)
    const download = url.pathname.startsWith('/exports/')
    const root = download ? options.workbench.exportsDir : options.rendererDir
    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(download ? '/exports/'.length : 1))
    const file = normalize(join(root, relative))
    if (!file.startsWith(normalize(root) + sep)) {
      response.writeHead(403).end()
      return
    }
    const stat = await fs.stat(file).catch(() => null)
    if (!stat?.isFile()) {
      response.writeHead(404, { 'content-type': 'text/plain' })
      response.end(`Not found: ${url.pathname}\n`)
      return
    }
    const headers: Record<string, string> = {
      'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
      'content-length': String(stat.size),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': extname(file) === '.html' ? 'no-store' : 'private, max-age=3600'
    }
    if (download) headers['content-disposition'] = `attachment; filename="${relative.replace(/["\\]/g, '_')}"`
    if (extname(file) === '.html') {
      headers['content-security-policy'] = contentSecurityPolicy({ connect: [`ws://127.0.0.1:${port}`, `ws://localhost:${port}`] })
    }
    if (verdict.viaQuery) {
      headers['set-cookie'] = `${tokenCookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`
    }
    response.writeHead(200, headers)
    if (request.method === 'HEAD') response.end()
    else createReadStream(file).pipe(response)
  }

  const sockets = new WebSocketServer({ noServer: true, maxPayload: maxBytes })
  server.on('upgrade', (request, socket, head) => {
    const verdict = checkAccess(request, { port, token })
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    if (!verdict.ok || path !== '/rpc') {
      const status = verdict.ok ? 404 : verdict.status
      const text = verdict.ok ? 'Not Found' : verdict.status === 401 ? 'Unauthorized' : 'Forbidden'
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      const stop = serve(options.workbench.contract, options.workbench.implementation, webSocketProtocol(ws), {
        events: options.workbench.events,
        maxMessageBytes: maxBytes,
        onInternalError: (error, where) => console.error(`[host] ${where}:`, error)
      })
      ws.on('close', stop)
      ws.on('error', () => ws.terminate())
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  port = (server.address() as AddressInfo).port

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    connections: () => sockets.clients.size,
    close: async () => {
      for (const client of sockets.clients) client.terminate()
      sockets.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
