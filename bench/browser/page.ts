/**
 * The page side of bench/browser.ts, bundled for Chromium from the SDK's browser entry (src/client/sdk-browser.ts):
 * `window.cairnBench.put` fetches a file from the static server and puts it from the page (pieces straight to the
 * nodes, the deal paid by a key imported into the page); `get` reads a capability back. Each reports the time of the
 * put or get alone (after the host dialled the nodes) and the sha-256 of the bytes.
 */
import type { Hex } from 'viem'
import { createBrowserHost, createChainClient, createClient, putFromPage } from '../../src/client/sdk-browser.ts'

export interface BenchPutRequest {
  networkUrl: string
  fileUrl: string
  privateKey: string
  k: number
  n: number
}

export interface BenchPutResult {
  capability: string
  bytes: number
  sha256: string
  connectMs: number
  ms: number
}

export interface BenchGetRequest {
  networkUrl: string
  capability: string
}

export interface BenchGetResult {
  bytes: number
  sha256: string
  connectMs: number
  ms: number
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
}

async function put(request: BenchPutRequest): Promise<BenchPutResult> {
  const bytes = new Uint8Array(await (await fetch(request.fileUrl)).arrayBuffer())
  const host = await createBrowserHost({ allowPrivateAddresses: true })
  try {
    const connecting = performance.now()
    const client = createClient({ host }, { network: await (await fetch(request.networkUrl)).text() })
    await client.connect()
    const wallet = createChainClient({
      rpcUrl: client.network.rpc,
      chainId: client.network.chainId,
      privateKey: request.privateKey as Hex,
      contracts: client.network.contracts as never,
    })
    const started = performance.now()
    const { put } = await putFromPage(client, wallet, [bytes], { k: request.k, n: request.n })
    const ms = performance.now() - started
    return {
      capability: put.capability,
      bytes: bytes.byteLength,
      sha256: await sha256(bytes),
      connectMs: started - connecting,
      ms,
    }
  } finally {
    await host.stop()
  }
}

async function get(request: BenchGetRequest): Promise<BenchGetResult> {
  const host = await createBrowserHost({ allowPrivateAddresses: true })
  try {
    const connecting = performance.now()
    const client = createClient({ host }, { network: await (await fetch(request.networkUrl)).text() })
    await client.connect()
    const started = performance.now()
    const parts: Uint8Array[] = []
    let size = 0
    for await (const chunk of client.get(request.capability)) {
      parts.push(chunk)
      size += chunk.byteLength
    }
    const ms = performance.now() - started
    const whole = new Uint8Array(size)
    let at = 0
    for (const part of parts) {
      whole.set(part, at)
      at += part.byteLength
    }
    return { bytes: size, sha256: await sha256(whole), connectMs: started - connecting, ms }
  } finally {
    await host.stop()
  }
}

;(globalThis as unknown as { cairnBench: unknown }).cairnBench = { put, get }
