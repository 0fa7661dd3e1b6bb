/**
 * The page side of storage-vectors.test.ts: bundled for the browser with src/storage (the `browser` condition picks
 * src/storage/platform/browser.ts) and exposed as `window.cairnStorage` for the test to call. Bytes cross the
 * page boundary as base64.
 */
import {
  createErasureCoder,
  decodeFile,
  decodeManifest,
  decryptMetadata,
  encodeFile,
  type FileMetadata,
  type Manifest,
  type PieceRequest,
  parseCapability,
  pieceCid,
} from '../../src/storage/index.ts'

export interface VectorRequest {
  input: string
  k: number
  n: number
  segmentSize: number
  key: string
  salt: string
  metadata?: FileMetadata
}

export interface EncodedInPage {
  capability: string
  manifest: string
  pieces: Record<string, string>
}

function toBase64(bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < bytes.byteLength; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(text)
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
const fromHex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (h) => Number.parseInt(h, 16))

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}

async function decodeAll(
  manifest: Manifest,
  key: Uint8Array,
  pieces: Map<string, Uint8Array>,
  missing: ReadonlySet<number> = new Set(),
): Promise<Uint8Array> {
  const fetcher = async (request: PieceRequest) => {
    const bytes = pieces.get(`${request.segment}/${request.slot}`)
    if (bytes === undefined || missing.has(request.slot)) throw new Error('node offline')
    return bytes
  }
  const parts: Uint8Array[] = []
  for await (const chunk of decodeFile(manifest, key, fetcher)) parts.push(Uint8Array.from(chunk))
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}

/** Encodes a known-answer case and reports everything the vector file records, plus the decode checks. */
async function encodeVector(c: VectorRequest) {
  const data = fromBase64(c.input)
  const { pieces, done } = encodeFile([data], {
    k: c.k,
    n: c.n,
    segmentSize: c.segmentSize,
    key: fromHex(c.key),
    salt: fromHex(c.salt),
    ...(c.metadata === undefined ? {} : { metadata: c.metadata }),
  })
  const stored = new Map<string, Uint8Array>()
  const cids: Record<string, string> = {}
  let piecesHashToTheirCid = true
  for await (const piece of pieces) {
    cids[`${piece.segment}/${piece.slot}`] = piece.cid.toString()
    if (!piece.cid.equals(pieceCid(piece.bytes))) piecesHashToTheirCid = false
    stored.set(`${piece.segment}/${piece.slot}`, Uint8Array.from(piece.bytes))
  }
  const file = await done
  const { manifestCid, key } = parseCapability(file.capability)
  if (key === undefined) throw new Error('the capability has no key')
  const manifest = decodeManifest(file.manifestBytes, manifestCid)
  const lastK = new Set(Array.from({ length: c.n - c.k }, (_, slot) => slot))
  return {
    capability: file.capability,
    manifestCid: file.manifestCid.toString(),
    manifestSize: file.manifestBytes.byteLength,
    keyCheck: hex(file.manifest.keyCheck),
    segments: file.manifest.segments.map((s) => ({
      size: s.size,
      flags: s.flags,
      ciphertextHash: hex(s.ciphertextHash),
      pieces: s.pieces.map(String),
    })),
    slots: file.manifest.slots.map((s) => ({ root: hex(s.root), size: s.size })),
    cids,
    piecesHashToTheirCid,
    metadata: decryptMetadata(manifest, key),
    decodes: equal(await decodeAll(manifest, key, stored), data),
    decodesFromLastK: equal(await decodeAll(manifest, key, stored, lastK), data),
  }
}

/** Encodes `input` with a fresh random key; returns what a reader needs (for Node to decode). */
async function encode(input: string, init: { k: number; n: number; segmentSize?: number }): Promise<EncodedInPage> {
  const { pieces, done } = encodeFile([fromBase64(input)], init)
  const out: Record<string, string> = {}
  for await (const piece of pieces) out[`${piece.segment}/${piece.slot}`] = toBase64(piece.bytes)
  const file = await done
  return { capability: file.capability, manifest: toBase64(file.manifestBytes), pieces: out }
}

/** Decodes a file encoded elsewhere, without the slots in `missing`; returns the plaintext as base64. */
async function decode(file: EncodedInPage, missing: number[] = []): Promise<string> {
  const { manifestCid, key } = parseCapability(file.capability)
  if (key === undefined) throw new Error('the capability has no key')
  const manifest = decodeManifest(fromBase64(file.manifest), manifestCid)
  const pieces = new Map(Object.entries(file.pieces).map(([at, bytes]) => [at, fromBase64(bytes)]))
  return toBase64(await decodeAll(manifest, key, pieces, new Set(missing)))
}

/** Encodes then decodes `mib` MiB of text-like data at (k, n) in the page; MB/s of plaintext each way. */
async function throughput(mib: number, k: number, n: number) {
  const words = ['storage', 'cairn', 'node', 'piece', 'segment', 'the', 'of', 'and', 'erasure', 'manifest']
  const data = new TextEncoder().encode(
    Array.from({ length: (mib * 1024 * 1024) / 6 }, (_, i) => words[(i * 7919) % 10]).join(' '),
  )
  let started = performance.now()
  const { pieces, done } = encodeFile([data], { k, n })
  const stored = new Map<string, Uint8Array>()
  for await (const piece of pieces) stored.set(`${piece.segment}/${piece.slot}`, piece.bytes)
  const file = await done
  const encodeMs = performance.now() - started
  started = performance.now()
  const back = await decodeAll(file.manifest, parseCapability(file.capability).key!, stored, new Set([0, 1]))
  const decodeMs = performance.now() - started
  return {
    bytes: data.byteLength,
    equal: equal(back, data),
    encodeMBps: data.byteLength / 1e3 / encodeMs,
    decodeMBps: data.byteLength / 1e3 / decodeMs,
    erasure: createErasureCoder({ k, n }).implementation,
  }
}

/** What the page exposes as `globalThis.cairnStorage`. */
export interface StoragePage {
  encodeVector: typeof encodeVector
  encode: typeof encode
  decode: typeof decode
  throughput: typeof throughput
}

const page: StoragePage = { encodeVector, encode, decode, throughput }
Object.assign(globalThis, { cairnStorage: page })
