/**
 * CPU cost of each stage a put or a get must run, measured in the benchmark's own process (the same way
 * bench/pipeline.ts measures its stages: 4 MiB segments, CPU seconds of this process, after one warm-up call), and
 * the cluster-wide bound they add up to for a put or a get of (k, n).
 *
 * Costs are CPU seconds per GB (1e9 bytes) of the stage's input. The bound counts what a (k, n) put or get cannot
 * avoid on random (incompressible) data, per byte of plaintext:
 * - put, client: zstd (tried; the data is stored raw), AES-GCM, RS encode (k > 1), the ciphertextHash (k > 1), and for
 *   the n/k bytes of pieces per plaintext byte (1 for k = 1: replicas are hashed once) sha-256, leaf hashes and the
 *   tree fold; Noise-encrypt of n/k bytes (every copy goes out).
 * - put, holders (n/k bytes in all): Noise-decrypt, sha-256 once, leaf hashes, tree fold, fs write with fsync.
 * - get, holders (k pieces of 1/k, 1 byte in all): read from disk, Noise-encrypt.
 * - get, client (1 byte): Noise-decrypt, sha-256 once (the piece CID; for k > 1 also the ciphertextHash), AES-GCM
 *   decrypt, the output file's write (no RS decode: the data pieces are fetched first).
 */
import { createCipheriv, createDecipheriv, hash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  compressSegment,
  createErasureCoder,
  createFsPieceStore,
  MerkleRootBuilder,
  pieceCid,
} from '../../src/storage/index.ts'
import { decryptSegment, deriveFileKeys, encryptSegment } from '../../src/storage/segment-cipher.ts'
import { pieceLeafHashes } from '../../src/storage/segment-codec.ts'

const SEGMENT = 4 << 20
/** Noise transport messages carry at most 65,535 bytes including the 16-byte tag. */
const NOISE_PLAINTEXT = 65_535 - 16

export interface StageCosts {
  zstd_random: number
  aes_encrypt: number
  aes_decrypt: number
  sha256: number
  leaf_hash: number
  tree_fold: number
  rs_encode_2_6: number
  noise_encrypt: number
  noise_decrypt: number
  store_write: number
  file_read: number
}

/** CPU seconds of the whole process (every thread: fs calls run on libuv's pool). */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/** CPU seconds per GB of `bytes` for running fn over every part (after one warm-up call). */
async function cost<T>(parts: T[], bytes: number, fn: (part: T, index: number) => unknown): Promise<number> {
  await fn(parts[0]!, 0)
  const start = cpuSeconds()
  for (const [i, part] of parts.entries()) await fn(part, i)
  return ((cpuSeconds() - start) / bytes) * 1e9
}

/** ChaCha20-Poly1305 the way @libp2p/noise's node crypto seals one transport message. */
function noiseSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  cipher.setAAD(new Uint8Array(0), { plaintextLength: plaintext.byteLength })
  const body = cipher.update(plaintext)
  const final = cipher.final()
  return Buffer.concat([body, final, cipher.getAuthTag()])
}

function noiseOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  const text = sealed.subarray(0, sealed.byteLength - 16)
  decipher.setAAD(new Uint8Array(0), { plaintextLength: text.byteLength })
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
  const out = decipher.update(text)
  decipher.final()
  return out
}

/** Measures every stage on `bytes` of random data (default 64 MiB) in this process. */
export async function measureStageCosts(bytes = 64 << 20): Promise<StageCosts> {
  const data = new Uint8Array(randomBytes(bytes))
  const parts: Uint8Array[] = []
  for (let i = 0; i < bytes; i += SEGMENT) parts.push(data.subarray(i, i + SEGMENT))
  const keys = deriveFileKeys(new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(16)))
  const sealed: Uint8Array[] = []
  const leaves: Uint8Array[] = []
  const costs: Partial<StageCosts> = {}
  costs.zstd_random = await cost(parts, bytes, (p) => compressSegment(p, 3))
  costs.aes_encrypt = await cost(parts, bytes, (p, i) => {
    sealed[i] = encryptSegment(keys, i, 0, false, p)
  })
  costs.aes_decrypt = await cost(sealed, bytes, (p, i) => decryptSegment(keys, i, 0, false, p))
  costs.sha256 = await cost(parts, bytes, (p) => pieceCid(p))
  costs.leaf_hash = await cost(parts, bytes, (p, i) => {
    leaves[i] = pieceLeafHashes(p)
  })
  const builder = new MerkleRootBuilder()
  costs.tree_fold = await cost(leaves, bytes + SEGMENT, (h) => builder.appendLeafHashes(h))
  const coder = createErasureCoder({ k: 2, n: 6 })
  costs.rs_encode_2_6 = await cost(parts, bytes, (p) => coder.encode(p))
  const key = new Uint8Array(randomBytes(32))
  const nonce = new Uint8Array(12)
  const messages: Uint8Array[] = []
  for (let i = 0; i < Math.min(bytes, 32 << 20); i += NOISE_PLAINTEXT) {
    messages.push(data.subarray(i, Math.min(i + NOISE_PLAINTEXT, bytes)))
  }
  const noiseBytes = messages.reduce((s, m) => s + m.byteLength, 0)
  const boxes: Uint8Array[] = []
  costs.noise_encrypt = await cost(messages, noiseBytes, (m, i) => {
    boxes[i] = noiseSeal(key, nonce, m)
  })
  costs.noise_decrypt = await cost(boxes, noiseBytes, (b) => noiseOpen(key, nonce, b))
  const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-stage-'))
  try {
    const store = createFsPieceStore({ path: join(dir, 'store') })
    await store.start()
    const some = parts.slice(0, Math.min(parts.length, 8))
    const someBytes = some.reduce((s, p) => s + p.byteLength, 0)
    const cids = some.map((p) => pieceCid(p))
    // pieceCid's hashing is not part of the write: it is subtracted.
    const hashing = await cost(some, someBytes, (p) => hash('sha256', p))
    costs.store_write = (await cost(some, someBytes, (p, i) => store.put(cids[i]!, p))) - hashing
    await store.stop()
    await Promise.all(some.map((p, i) => writeFile(join(dir, `read-${i}`), p)))
    costs.file_read = await cost(some, someBytes, (_, i) => readFile(join(dir, `read-${i}`)))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return costs as StageCosts
}

/** CPU seconds per GB of plaintext the stages add up to for a (k, n) put or get: client, holders and the sum. */
export function stageBound(costs: StageCosts, k: number, n: number) {
  const copies = n / k
  const putClient =
    costs.zstd_random +
    costs.aes_encrypt +
    (k > 1 ? costs.rs_encode_2_6 + costs.sha256 : 0) +
    (k === 1 ? 1 : copies) * (costs.sha256 + costs.leaf_hash + costs.tree_fold) +
    copies * costs.noise_encrypt
  const putHolders =
    copies * (costs.noise_decrypt + costs.sha256 + costs.leaf_hash + costs.tree_fold + costs.store_write)
  const getHolders = costs.file_read + costs.noise_encrypt
  const getClient = costs.noise_decrypt + costs.sha256 * (k > 1 ? 2 : 1) + costs.aes_decrypt + costs.store_write
  return { putClient, putHolders, put: putClient + putHolders, getClient, getHolders, get: getClient + getHolders }
}
