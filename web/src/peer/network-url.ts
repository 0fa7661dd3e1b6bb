/**
 * Where the page as a peer finds its network file: next to the page (as any static server serves it), or at the
 * address the user gave last. Light on purpose: the gateway's dashboard imports it to notice a network file without
 * loading the peer's code.
 */

/** Where the network file is looked for first. */
export const DEFAULT_NETWORK_URL = 'network.json'
const NETWORK_URL_KEY = 'cairn-network-url'

/** The network file's address the user chose last (default: next to the page). */
export function savedNetworkUrl(): string {
  return localStorage.getItem(NETWORK_URL_KEY) ?? DEFAULT_NETWORK_URL
}

export function saveNetworkUrl(url: string): void {
  localStorage.setItem(NETWORK_URL_KEY, url)
}

/** true when `url` serves JSON that looks like a network file (a list of bootstrap addresses). */
export async function hasNetworkFile(url: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  try {
    const response = await fetch(url, {
      cache: 'no-store',
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    if (!response.ok) return false
    const file = (await response.json()) as { bootstrap?: unknown }
    return Array.isArray(file.bootstrap)
  } catch {
    return false
  }
}
