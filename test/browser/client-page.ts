/**
 * The page side of page-client.test.ts: src/client's browser entry over src/net/browser-host.ts, bundled for the
 * browser and exposed as `window.cairnClient`. Given the network file's contents and a capability, the page dials the
 * nodes, reads the file (manifest, pieces, CID checks, decoding and decryption all in the page) and reports its
 * sha-256 as WebCrypto computes it.
 */
import { createBrowserClient } from '../../src/client/browser-client.ts'
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

;(globalThis as unknown as { cairnClient: unknown }).cairnClient = { getFile }
