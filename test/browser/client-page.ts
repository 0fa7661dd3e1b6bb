/**
 * The page side of page-client.test.ts: src/client's browser entry over src/net/browser-host.ts, bundled for the
 * browser and exposed as `window.cairnClient`. Given the network file's contents and a capability, the page dials the
 * nodes, reads the file (manifest, pieces, CID checks, decoding and decryption all in the page) and reports its
 * sha-256 as WebCrypto computes it.
 */
import type { Hex } from 'viem'
import { createBrowserClient } from '../../src/client/browser-client.ts'
import { connectNetwork } from '../../src/client/browser-connection.ts'
import { createBrowserHost } from '../../src/net/browser-host.ts'

export interface PageGetRequest {
  /** Where the page fetches the network file's contents from (a path on the static server). */
  networkUrl: string
  capability: string
}

export interface PageGetResult {
  bytes: number
  sha256: string
  nodes: number
  ms: number
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

async function getFile(request: PageGetRequest): Promise<PageGetResult> {
  const started = performance.now()
  const host = await createBrowserHost({ allowPrivateAddresses: true })
  try {
    const network = await (await fetch(request.networkUrl)).text()
    const client = createBrowserClient({ host }, { network })
    const nodes = await client.connect()
    const chunks: Uint8Array[] = []
    let size = 0
    for await (const chunk of client.get(request.capability)) {
      chunks.push(chunk)
      size += chunk.byteLength
    }
    const whole = new Uint8Array(size)
    let at = 0
    for (const chunk of chunks) {
      whole.set(chunk, at)
      at += chunk.byteLength
    }
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', whole))
    return { bytes: size, sha256: hex(digest), nodes: nodes.length, ms: performance.now() - started }
  } finally {
    await host.stop()
  }
}

export interface PagePutRequest {
  networkUrl: string
  /** The paying account's key, imported into the page (on a devnet: the devnet's user key). */
  privateKey: string
  /** Bytes of the file the page makes (random, with `canary` written at its start, middle and end). */
  size: number
  canary: string
  k: number
  n: number
}

export interface PagePutResult {
  capability: string
  dealId: string
  sha256: string
  slots: string[]
  ms: number
}

/** Random bytes (WebCrypto hands out at most 64 KiB a call) with the canary's UTF-8 bytes at three places. */
function pageFile(size: number, canary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size)
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)))
  const mark = new TextEncoder().encode(canary)
  for (const at of [0, Math.floor(size / 2), size - mark.byteLength]) bytes.set(mark, at)
  return bytes
}

/** A put through the SDK's one call, `connectNetwork` (the same arguments as in Node), paid by the page's key. */
async function putFile(request: PagePutRequest): Promise<PagePutResult> {
  const started = performance.now()
  const cairn = await connectNetwork({
    network: await (await fetch(request.networkUrl)).text(),
    privateKey: request.privateKey as Hex,
  })
  try {
    const bytes = pageFile(request.size, request.canary)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
    const put = await cairn.put([bytes], { k: request.k, n: request.n })
    return {
      capability: put.capability,
      dealId: put.deal.dealId,
      sha256: hex(digest),
      slots: put.slots.map((s) => s.peerId),
      ms: performance.now() - started,
    }
  } finally {
    await cairn.close()
  }
}

/** A download the test watches while it runs: bytes read so far, the peers pieces came from, then its outcome. */
export interface PageDownload {
  bytes: number
  servedBy: string[]
  result?: PageGetResult
  error?: string
}

const download: PageDownload = { bytes: 0, servedBy: [] }

/** Starts reading a file one segment at a time (so it lasts) and returns at once; `downloadState` reports on it. */
function startGet(request: PageGetRequest): void {
  Object.assign(download, { bytes: 0, servedBy: [], result: undefined, error: undefined })
  const run = async (): Promise<PageGetResult> => {
    const started = performance.now()
    const host = await createBrowserHost({ allowPrivateAddresses: true })
    try {
      const network = await (await fetch(request.networkUrl)).text()
      const watched = {
        ...host,
        peerId: host.peerId,
        fetchPiece: async (...args: Parameters<typeof host.fetchPiece>) => {
          const bytes = await host.fetchPiece(...args)
          if (!download.servedBy.includes(args[0])) download.servedBy.push(args[0])
          return bytes
        },
      }
      const client = createBrowserClient({ host: watched }, { network, getConcurrency: 1 })
      const nodes = await client.connect()
      const parts: Uint8Array[] = []
      for await (const chunk of client.get(request.capability)) {
        parts.push(chunk)
        download.bytes += chunk.byteLength
      }
      const whole = new Uint8Array(download.bytes)
      let at = 0
      for (const part of parts) {
        whole.set(part, at)
        at += part.byteLength
      }
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', whole))
      return { bytes: whole.byteLength, sha256: hex(digest), nodes: nodes.length, ms: performance.now() - started }
    } finally {
      await host.stop()
    }
  }
  run().then(
    (result) => void (download.result = result),
    (error: unknown) => void (download.error = error instanceof Error ? error.message : String(error)),
  )
}

function downloadState(): PageDownload {
  return download
}

;(globalThis as unknown as { cairnClient: unknown }).cairnClient = {
  getFile,
  putFile,
  startGet,
  downloadState,
}
