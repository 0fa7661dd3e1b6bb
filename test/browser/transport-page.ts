/**
 * The page side of node-fetch.test.ts: bundled for the browser with src/net/browser-host.ts (WebSockets and
 * WebRTC-direct, the browser builds of @libp2p/websockets and @libp2p/webrtc) and src/storage, exposed as
 * `window.cairnTransport`. Given a node's address and a capability, the page dials the node, fetches the file's
 * manifest and one piece over `/cairn/piece/1.0.0`, and checks both against their CIDs in the page.
 */
import { type BrowserTransport, createBrowserHost } from '../../src/net/browser-host.ts'
import { decodeManifest, manifestPieceCid, parseCapability, pieceCid } from '../../src/storage/index.ts'

export interface PieceFetchRequest {
  /** The node's multiaddr, as the network file lists it. */
  address: string
  transport: BrowserTransport
  capability: string
  /** Which slot's piece of segment 0 to fetch (the node must hold that slot). */
  slot: number
}

export interface PieceFetchResult {
  peerId: string
  /** Remote addresses of every connection the page's host opened. */
  connections: string[]
  manifest: { size: number; k: number; n: number; segments: number }
  cid: string
  bytes: number
  /** The piece's sha-256 as WebCrypto computes it, hex (independent of the data path's own hashing). */
  sha256: string
  /** pieceCid(bytes) in the page equals the manifest's CID for the slot. */
  verified: boolean
  ms: number
}

async function fetchSlotPiece(request: PieceFetchRequest): Promise<PieceFetchResult> {
  const started = performance.now()
  const host = await createBrowserHost({ transports: [request.transport], allowPrivateAddresses: true })
  try {
    const connection = await host.dial(request.address)
    const peer = connection.remotePeer.toString()
    const { manifestCid } = parseCapability(request.capability)
    const manifest = decodeManifest(await host.fetchPiece(peer, manifestPieceCid(manifestCid)), manifestCid)
    const cid = manifest.segments[0]!.pieces[request.slot]!
    const bytes = await host.fetchPiece(peer, cid)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
    return {
      peerId: peer,
      connections: host.libp2p.getConnections().map((c) => c.remoteAddr.toString()),
      manifest: { size: manifest.size, k: manifest.k, n: manifest.n, segments: manifest.segments.length },
      cid: cid.toString(),
      bytes: bytes.byteLength,
      sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
      verified: pieceCid(bytes).equals(cid),
      ms: performance.now() - started,
    }
  } finally {
    await host.stop()
  }
}

;(globalThis as unknown as { cairnTransport: unknown }).cairnTransport = { fetchSlotPiece }
