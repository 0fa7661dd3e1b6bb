/**
 * Writes test/vectors/file-format.json: known-answer vectors for Cairn's file format (manifest, pieces, slot roots,
 * capability). A fixed key and salt and fixed input bytes must always encode to exactly these CIDs; the test
 * test/storage/file-format-vectors.test.ts re-encodes every case and compares.
 *
 * Run it only on purpose, when a format change is intended (and bump MANIFEST_VERSION if old files no longer decode):
 * `npx node scripts/generate-file-format-vectors.ts`.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { type EncodeInit, encodeFile, type FileMetadata, MANIFEST_VERSION } from '../src/storage/index.ts'

/** The one file key of every vector: bytes 0x00..0x1f. */
export const VECTOR_KEY = Uint8Array.from({ length: 32 }, (_, i) => i)
/** The one manifest salt of every vector: bytes 0xa0..0xaf. */
export const VECTOR_SALT = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i)
/** Small segments keep the vectors quick while still covering files of several segments. */
export const VECTOR_SEGMENT_SIZE = 4096

export type VectorInputKind = 'noise' | 'text'

/**
 * The input bytes of a vector. `noise` does not compress: SHA-256 in counter mode, block j =
 * sha256("cairn/file-format-vectors" || u32be j). `text` compresses: words chosen by x = (x * 1103515245 + 12345)
 * mod 2^32 from x = 1, each followed by a space.
 */
export function vectorInput(size: number, kind: VectorInputKind): Uint8Array {
  const out = new Uint8Array(size)
  if (kind === 'noise') {
    const label = new TextEncoder().encode('cairn/file-format-vectors')
    for (let block = 0; block * 32 < size; block++) {
      const counter = new Uint8Array(4)
      new DataView(counter.buffer).setUint32(0, block)
      const digest = createHash('sha256').update(label).update(counter).digest()
      out.set(digest.subarray(0, Math.min(32, size - block * 32)), block * 32)
    }
    return out
  }
  const words = ['storage', 'cairn', 'node', 'piece', 'segment', 'the', 'of', 'and', 'erasure', 'manifest']
  let x = 1
  let i = 0
  while (i < size) {
    x = (x * 1103515245 + 12345) >>> 0
    const word = words[x % words.length]!
    for (let j = 0; j < word.length && i < size; j++) out[i++] = word.charCodeAt(j)
    if (i < size) out[i++] = 32
  }
  return out
}

export interface VectorCaseInput {
  name: string
  size: number
  input: VectorInputKind
  k: number
  n: number
  metadata?: FileMetadata
}

const METADATA: FileMetadata = { name: 'vector.bin', type: 'application/octet-stream', mtime: 1_700_000_000_000 }
const UNICODE_METADATA: FileMetadata = { name: 'café 📄 notes.txt', type: 'text/plain; charset=utf-8', mtime: 0 }
const S = VECTOR_SEGMENT_SIZE

/** The cases: empty, 1 byte, exactly one segment, several segments (last one short); k/n of 1/3 and 2/6. */
export const VECTOR_CASES: VectorCaseInput[] = [
  { name: 'empty, k=1 n=3', size: 0, input: 'noise', k: 1, n: 3 },
  { name: 'empty, k=2 n=6, metadata', size: 0, input: 'noise', k: 2, n: 6, metadata: METADATA },
  { name: '1 byte, k=1 n=3', size: 1, input: 'noise', k: 1, n: 3 },
  { name: '1 byte, k=2 n=6, metadata', size: 1, input: 'noise', k: 2, n: 6, metadata: METADATA },
  { name: 'one segment, k=1 n=3, metadata', size: S, input: 'noise', k: 1, n: 3, metadata: METADATA },
  { name: 'one segment, k=2 n=6', size: S, input: 'noise', k: 2, n: 6 },
  { name: 'one segment compressed, k=1 n=3', size: S, input: 'text', k: 1, n: 3 },
  { name: 'several segments, k=1 n=3', size: 3 * S + 100, input: 'noise', k: 1, n: 3 },
  { name: 'several segments, k=2 n=6, metadata', size: 3 * S + 100, input: 'noise', k: 2, n: 6, metadata: METADATA },
  {
    name: 'several segments compressed, k=2 n=6, unicode metadata',
    size: 3 * S + 100,
    input: 'text',
    k: 2,
    n: 6,
    metadata: UNICODE_METADATA,
  },
]

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

/** What one case encodes to, in the JSON's shape. */
export async function encodeVector(c: VectorCaseInput) {
  const data = vectorInput(c.size, c.input)
  const init: EncodeInit & { salt: Uint8Array } = {
    k: c.k,
    n: c.n,
    segmentSize: VECTOR_SEGMENT_SIZE,
    key: VECTOR_KEY,
    salt: VECTOR_SALT,
    ...(c.metadata === undefined ? {} : { metadata: c.metadata }),
  }
  // Fed in odd-sized chunks: how the source is cut must not change the output.
  const chunks = Array.from({ length: Math.ceil(c.size / 1000) }, (_, i) => data.subarray(i * 1000, i * 1000 + 1000))
  const { pieces, done } = encodeFile(chunks, init)
  const produced: Array<{ segment: number; slot: number; cid: string; bytes: Uint8Array }> = []
  for await (const piece of pieces) produced.push({ ...piece, cid: piece.cid.toString() })
  const file = await done
  return {
    file,
    produced,
    vector: {
      ...c,
      inputSha256: createHash('sha256').update(data).digest('hex'),
      capability: file.capability,
      manifestCid: file.manifestCid.toString(),
      manifestSize: file.manifestBytes.byteLength,
      keyCheck: hex(file.manifest.keyCheck),
      segments: file.manifest.segments.map((segment) => ({
        size: segment.size,
        flags: segment.flags,
        ciphertextHash: hex(segment.ciphertextHash),
        pieces: segment.pieces.map((cid) => cid.toString()),
      })),
      slots: file.manifest.slots.map((slot) => ({ root: hex(slot.root), size: slot.size })),
    },
  }
}

export async function buildFileFormatVectors() {
  const cases = []
  for (const c of VECTOR_CASES) cases.push((await encodeVector(c)).vector)
  return {
    description:
      "Cairn file format known answers: encodeFile(input, { k, n, segmentSize, key, salt, metadata }) gives exactly this capability, manifest CID, piece CIDs (segments[i].pieces[slot]), segment ciphertext hashes (segments[i].ciphertextHash = sha-256 of the segment's padded ciphertext, the bytes erasure coded) and slot Merkle roots. Input bytes: 'noise' = SHA-256 counter mode, block j = sha256('cairn/file-format-vectors' || u32be j), truncated to size; 'text' = words ['storage','cairn','node','piece','segment','the','of','and','erasure','manifest'] picked by x = (x*1103515245 + 12345) mod 2^32 from x = 1, index x mod 10, each followed by a space, truncated to size. segment flags 1 = zstd-compressed (node:zlib zstd at the default level, so a zstd upgrade may change the compressed cases). Generated by scripts/generate-file-format-vectors.ts.",
    manifestVersion: MANIFEST_VERSION,
    key: hex(VECTOR_KEY),
    salt: hex(VECTOR_SALT),
    segmentSize: VECTOR_SEGMENT_SIZE,
    cases,
  }
}

if (import.meta.main) {
  const vectors = await buildFileFormatVectors()
  writeFileSync(new URL('../test/vectors/file-format.json', import.meta.url), `${JSON.stringify(vectors, null, 2)}\n`)
  console.log(`wrote ${vectors.cases.length} cases to test/vectors/file-format.json`)
}
