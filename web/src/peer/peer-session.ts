/**
 * The dashboard as a peer: no gateway in the data path. The page reads the network file (network.json next to the
 * page, or a URL the user gives), dials the storage nodes it lists over its own libp2p host (WebSockets or
 * WebRTC-direct), and pays deals from a browser wallet: the injected EIP-1193 wallet when there is one, else the key
 * the page keeps in IndexedDB. Files are encoded and decoded in the page; their keys leave it only in capabilities.
 */
import { type BrowserClient, createBrowserClient, parseBrowserNetwork } from '../../../src/client/browser-client.ts'
import { type Eip1193Provider, injectedWallet } from '../../../src/client/injected-wallet.ts'
import { pageWallet, pageWalletKey } from '../../../src/client/page-wallet.ts'
import { createBrowserHost } from '../../../src/net/browser-host.ts'
import type { PutWorkerMessage, PutWorkerRequest } from './put-worker.ts'
import { walletStore } from './wallet-store.ts'

export { walletStore }

/** Fetches the network file's contents from `url` and checks them; the error names the address and the fix. */
export async function loadNetworkFile(url: string, options: { signal?: AbortSignal } = {}): Promise<string> {
  let response: Response
  try {
    response = await fetch(url, {
      cache: 'no-store',
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
  } catch (cause) {
    throw new Error(`could not fetch the network file at ${url} (${(cause as Error).message}): check the address`)
  }
  if (!response.ok) {
    throw new Error(
      `the network file at ${url} answered HTTP ${response.status}: put network.json next to the page or give its URL`,
    )
  }
  const text = await response.text()
  parseBrowserNetwork(text)
  return text
}

/** A page's connection to the network: its client over its own host, until `stop`. */
export interface PeerSession {
  client: BrowserClient
  /** The network file's contents (a put worker dials from them). */
  networkText: string
  stop(): Promise<void>
}

/** Opens the page's host and dials the nodes of the network file. */
export async function openPeerSession(
  networkText: string,
  options: { signal?: AbortSignal } = {},
): Promise<PeerSession> {
  const network = parseBrowserNetwork(networkText)
  const host = await createBrowserHost({
    allowPrivateAddresses: network.allowPrivateAddresses,
    ...(network.iceServers === undefined ? {} : { iceServers: network.iceServers }),
  })
  try {
    const client = createBrowserClient({ host }, { network: networkText })
    await client.connect(options)
    return { client, networkText, stop: () => host.stop() }
  } catch (error) {
    await host.stop()
    throw error
  }
}

/** The injected wallet of the page (`window.ethereum`), if the browser has one. */
export function injectedProvider(): Eip1193Provider | undefined {
  const provider = (window as unknown as { ethereum?: Eip1193Provider }).ethereum
  return typeof provider?.request === 'function' ? provider : undefined
}

/** The wallet that pays: the injected one when present, else the page's own key. */
export async function payingWallet(client: BrowserClient) {
  const provider = injectedProvider()
  if (provider !== undefined) return injectedWallet(provider, client.network)
  const { key } = await pageWalletKey(walletStore)
  return pageWallet(key, client.network)
}

/** What a put reports while it runs, wherever it runs. */
export type PutProgress = { type: string; bytes?: number; dealId?: string }

/**
 * Puts `file` in a Web Worker (the page's own wallet only: an injected one stays on the page's thread). Resolves
 * `undefined` when the worker reached no node over WebSockets (the caller puts on the page's thread instead).
 */
export function putInWorker(
  request: PutWorkerRequest,
  onProgress: (event: PutProgress) => void,
): Promise<{ capability: string; dealId: string } | undefined> {
  const worker = new Worker(new URL('./put-worker.ts', import.meta.url), { type: 'module' })
  return new Promise<{ capability: string; dealId: string } | undefined>((resolve, reject) => {
    worker.onmessage = (message: MessageEvent<PutWorkerMessage>) => {
      const data = message.data
      if (data.type === 'ready') worker.postMessage(request)
      else if (data.type === 'progress') onProgress(data.event)
      else if (data.type === 'done') resolve({ capability: data.capability, dealId: data.dealId })
      else if (data.type === 'unreachable') resolve(undefined)
      else reject(new Error(data.message))
    }
    worker.onerror = (event) => reject(new Error(`the put worker failed: ${event.message}`))
  }).finally(() => worker.terminate())
}
