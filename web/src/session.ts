/** The dashboard's connection to its gateway: same origin, token from `#token=` (kept in localStorage). */
import { type ApiClient, createApiClient } from '../../src/api/api-client.ts'

const TOKEN_KEY = 'cairn-token'

/** Takes `#token=...` out of the address bar (so it is not shared by copy-paste) and remembers it. */
export function readToken(): string | undefined {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash)
  if (match?.[1] !== undefined) {
    const token = decodeURIComponent(match[1])
    localStorage.setItem(TOKEN_KEY, token)
    const rest = window.location.hash.replace(/(?:^#|&)token=[^&]+/, '').replace(/^&/, '')
    history.replaceState(
      null,
      '',
      `${window.location.pathname}${window.location.search}${rest === '' ? '#/network' : `#${rest}`}`,
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
