/**
 * Who may call the gateway's HTTP API: the bearer token in the `Authorization` header, and, for downloads only, a
 * session cookie the dashboard obtains with the token. The token is never accepted from a URL: URLs end up in
 * browser history, proxy and server logs and `Referer` headers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { UnauthorizedError } from '../errors.ts'
import { SESSION_COOKIE, SESSION_COOKIE_PATH } from './constants.ts'

/** Query parameters that would carry a token in a URL; refused outright so that nobody relies on them. */
const TOKENS_IN_URLS = ['access_token', 'token']

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const at = part.indexOf('=')
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim()
  }
  return undefined
}

export interface ApiAuth {
  /**
   * Throws `UnauthorizedError` unless the request carries the token as `Authorization: Bearer`, or (when
   * `allowCookie`, for downloads) the session cookie; a token in the query string is refused, whatever else is sent.
   */
  check(request: FastifyRequest, options?: { allowCookie?: boolean }): void
  /** Sets the session cookie on `reply` (HttpOnly, SameSite=Strict, for file downloads only). */
  openSession(request: FastifyRequest, reply: FastifyReply): void
  /** Clears the session cookie. */
  closeSession(reply: FastifyReply): void
}

/**
 * The gateway's authentication with its token. The session cookie holds an HMAC of the token, not the token: it
 * opens downloads (which need a capability anyway) and nothing else.
 *
 * @example
 * ```ts
 * const auth = createApiAuth(token)
 * app.get('/metrics', { preHandler: async (request) => auth.check(request) }, handler)
 * ```
 */
export function createApiAuth(token: string): ApiAuth {
  const session = createHmac('sha256', token).update('cairn gateway download session').digest('base64url')
  const cookie = (request: FastifyRequest, value: string, maxAge?: number): string => {
    const secure = request.protocol === 'https' ? '; Secure' : ''
    const age = maxAge === undefined ? '' : `; Max-Age=${maxAge}`
    return `${SESSION_COOKIE}=${value}; Path=${SESSION_COOKIE_PATH}; HttpOnly; SameSite=Strict${secure}${age}`
  }
  return {
    check(request, options = {}) {
      const query = request.query as Record<string, string | undefined> | undefined
      if (TOKENS_IN_URLS.some((name) => query?.[name] !== undefined)) {
        throw new UnauthorizedError(
          'the token goes in the "Authorization: Bearer <token>" header, never in the URL (URLs are logged and kept in history): remove it from the address',
        )
      }
      const header = request.headers.authorization
      if (header?.startsWith('Bearer ') === true) {
        if (!sameSecret(header.slice('Bearer '.length).trim(), token)) {
          throw new UnauthorizedError('the bearer token is wrong')
        }
        return
      }
      const fromCookie = options.allowCookie === true ? cookieValue(request, SESSION_COOKIE) : undefined
      if (fromCookie !== undefined) {
        if (!sameSecret(fromCookie, session)) {
          throw new UnauthorizedError('the session cookie is stale or forged: open the dashboard with the token again')
        }
        return
      }
      throw new UnauthorizedError(
        'this call needs the gateway token: send "Authorization: Bearer <token>" (the token is in the gateway data folder, file api-token)',
      )
    },
    openSession(request, reply) {
      reply.header('set-cookie', cookie(request, session))
    },
    closeSession(reply) {
      reply.header(
        'set-cookie',
        `${SESSION_COOKIE}=; Path=${SESSION_COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age=0`,
      )
    },
  }
}
