/**
 * `createBrowserHost` for src/net's index, loading src/net/browser-host.ts on its first call: a Node process that
 * imports the index (every `cairn` command, every node) does not pay for @libp2p/webrtc and its native binding
 * (about 1.7 s to import on a loaded 2-core machine), as node-transports.ts does not. The SDK's entries take it here.
 */
import type { BrowserHost, BrowserHostInit } from './browser-host.ts'

export type { BrowserHost, BrowserHostInit, BrowserTransport } from './browser-host.ts'

/**
 * Creates and starts a page's dial-only host (WebSockets, WebRTC-direct, WebRTC signalled over a relay); see
 * browser-host.ts.
 *
 * @example
 * ```ts
 * const host = await createBrowserHost({ allowPrivateAddresses: true })
 * const client = createBrowserClient({ host }, { network })
 * ```
 */
export async function createBrowserHost(init: BrowserHostInit = {}): Promise<BrowserHost> {
  const { createBrowserHost: create } = await import('./browser-host.ts')
  return await create(init)
}
