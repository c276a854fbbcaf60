import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export interface AccessRule {
  port: number
  token: string
}

export type AccessVerdict = { ok: true; viaQuery: boolean } | { ok: false; status: 401 | 403; reason: string }

/** The origins a page served by this host has; anything else is foreign. */
export function allowedOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`]
}

export function tokenCookieName(port: number): string {
  return `esw_token_${port}`
}

/**
 * Decides whether a request (or WebSocket upgrade) may reach the workbench: the Host header must be this
 * loopback host (no DNS rebinding), a browser's Origin must be this host's, and the per-launch token must be
 * given in the query or in the cookie set when the page was first opened with it.
 */
export function checkAccess(request: IncomingMessage, rule: AccessRule): AccessVerdict {
  const hosts = [`127.0.0.1:${rule.port}`, `localhost:${rule.port}`]
  if (!request.headers.host || !hosts.includes(request.headers.host)) {
    return { ok: false, status: 403, reason: `Host ${request.headers.host ?? '(none)'} is not this workbench` }
  }
  const origin = request.headers.origin
  if (origin !== undefined && !allowedOrigins(rule.port).includes(origin)) {
    return { ok: false, status: 403, reason: `Origin ${origin} is not allowed` }
  }
  const url = new URL(request.url ?? '/', `http://${request.headers.host}`)
  const fromQuery = url.searchParams.get('token')
  const fromCookie = readCookie(request.headers.cookie, tokenCookieName(rule.port))
  const given = fromQuery ?? fromCookie
  if (given === null) return { ok: false, status: 401, reason: 'A token is required: open the URL the workbench printed' }
  if (!sameSecret(given, rule.token)) return { ok: false, status: 401, reason: 'The token is wrong' }
  return { ok: true, viaQuery: fromQuery !== null }
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return decodeURIComponent(rest.join('='))
  }
  return null
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
