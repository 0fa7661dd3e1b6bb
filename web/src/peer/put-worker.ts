/**
 * The page's put in a Web Worker, so the page stays responsive while a file is compressed, encrypted and
 * erasure-coded: the worker dials the nodes over its own libp2p host (WebSockets: a worker has no RTCPeerConnection),
 * reads the page's wallet key from IndexedDB itself (the key is never posted between threads), runs putFromPage and
 * posts its progress and the capability back. Used only with the page's own wallet: an injected wallet lives on
 * `window`, which a worker cannot reach.
 */
import { createBrowserClient, parseBrowserNetwork } from '../../../src/client/browser-client.ts'
import { putFromPage } from '../../../src/client/browser-put.ts'
import { pageWallet, pageWalletKey } from '../../../src/client/page-wallet.ts'
import { createBrowserHost } from '../../../src/net/browser-host.ts'
import { fileChunks } from './file-chunks.ts'
import { walletStore } from './wallet-store.ts'

export interface PutWorkerRequest {
  networkText: string
  file: File
  k: number
  n: number
}

export type PutWorkerMessage =
  | { type: 'ready' }
  | { type: 'unreachable'; message: string }
  | { type: 'progress'; event: { type: string; bytes?: number; dealId?: string } }
  | { type: 'done'; capability: string; dealId: string }
  | { type: 'failed'; message: string }

const post = (message: PutWorkerMessage): void => (self as unknown as Worker).postMessage(message)

/** How long the worker tries to reach the nodes before the page puts on its own thread instead. */
const CONNECT_TIMEOUT_MS = 20_000

self.onmessage = async (message: MessageEvent<PutWorkerRequest>) => {
  const { networkText, file, k, n } = message.data
  let host: Awaited<ReturnType<typeof createBrowserHost>> | undefined
  try {
    const network = parseBrowserNetwork(networkText)
    post({ type: 'progress', event: { type: 'worker:connecting' } })
    host = await createBrowserHost({ allowPrivateAddresses: network.allowPrivateAddresses, transports: ['ws'] })
    const client = createBrowserClient({ host }, { network: networkText, transports: ['ws'] })
    try {
      await client.connect({ signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
    } catch (error) {
      await host.stop().catch(() => undefined)
      return post({ type: 'unreachable', message: (error as Error).message })
    }
    post({ type: 'progress', event: { type: 'worker:connected' } })
    const wallet = pageWallet((await pageWalletKey(walletStore)).key, client.network)
    const { put, deal } = await putFromPage(client, wallet, fileChunks(file), {
      k,
      n,
      metadata: { name: file.name, mtime: file.lastModified, ...(file.type === '' ? {} : { type: file.type }) },
      onProgress: (event) => {
        const bytes = 'bytes' in event ? { bytes: event.bytes } : {}
        const dealId = event.type === 'deal:created' ? { dealId: event.dealId } : {}
        post({ type: 'progress', event: { type: event.type, ...bytes, ...dealId } })
      },
    })
    // close the links cleanly before the page ends the worker
    await host.stop()
    post({ type: 'done', capability: put.capability, dealId: deal.dealId })
  } catch (error) {
    await host?.stop().catch(() => undefined)
    post({ type: 'failed', message: (error as Error).message })
  }
}

// the data path's modules finish loading (zstd's wasm, a top-level await) before this line runs: a request posted
// earlier could reach a worker with no handler yet, so the page waits for this message before sending one
post({ type: 'ready' })
