/**
 * The dashboard's connection to its gateway: same origin, token from `#token=` (a hash fragment, never sent to the
 * server; kept in localStorage and sent as `Authorization: Bearer`). Download links carry no token: the gateway
 * opens them with the HttpOnly session cookie the app asks for once the token is known.
 */
import { type ApiClient, createApiClient } from '../../src/api/api-client.ts'
import { DEFAULT_ROUTE, parseHash } from './hash-route.ts'

const TOKEN_KEY = 'cairn-token'

/**
 * Takes the token out of the address bar (`#token=...`, or `#/files?token=...` / `#/files&token=...` to open a page),
 * so it is not shared by copy-paste, and remembers it; the page named stays.
 */
export function readToken(): string | undefined {
  const { token, hash } = parseHash(window.location.hash)
  if (token !== undefined) {
    localStorage.setItem(TOKEN_KEY, token)
    history.replaceState(
      null,
      '',
      `${window.location.pathname}${window.location.search}${hash === '' ? `#${DEFAULT_ROUTE}` : hash}`,
    )
    return token
  }
  return localStorage.getItem(TOKEN_KEY) ?? undefined
}

export function saveToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token)
}

export function forgetToken(): void {
  localStorage.removeItem(TOKEN_KEY)
}

export function openApi(token: string | undefined): ApiClient {
  return createApiClient({ url: window.location.origin, ...(token === undefined ? {} : { token }) })
}
