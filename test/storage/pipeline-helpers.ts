/**
 * Helpers for the pipeline tests: data of both kinds, encode into a map of pieces, decode through a fetcher that can
 * lose, corrupt or slow down slots.
 */
import { randomBytes } from 'node:crypto'
import {
  type DecodeInit,
  decodeFile,
  type EncodedFile,
  type EncodeInit,
  encodeFile,
  type Manifest,
  type PieceRequest,
} from '../../src/storage/index.ts'

/** Text-like data (compresses well) or random bytes (does not). */
export function testData(size: number, kind: 'text' | 'random', seed = 1): Uint8Array {
  if (kind === 'random') return new Uint8Array(randomBytes(size))
  const words = ['storage', 'cairn', 'node', 'piece', 'segment', 'the', 'of', 'and', 'erasure', 'manifest', '\n']
  const out = new Uint8Array(size)
  let x = seed
  let i = 0
  while (i < size) {
    x = (x * 1103515245 + 12345) >>> 0
    const word = words[x % words.length]!
    for (let j = 0; j < word.length && i < size; j++) out[i++] = word.charCodeAt(j)
    if (i < size) out[i++] = 32
  }
  return out
}

export interface Encoded extends EncodedFile {
  /** `${segment}/${slot}` -> piece bytes */
  pieces: Map<string, Uint8Array>
}

/** Encodes into a map; `salt` is for reproducible files (see `ReproducibleEncodeInit`). */
export async function encodeToMap(
  data: Uint8Array | Iterable<Uint8Array>,
  init: EncodeInit & { salt?: Uint8Array },
): Promise<Encoded> {
  const chunks = data instanceof Uint8Array ? chunked(data, 777) : data
  const { pieces, done } = encodeFile(chunks, init)
  const map = new Map<string, Uint8Array>()
  for await (const piece of pieces) map.set(`${piece.segment}/${piece.slot}`, piece.bytes)
  return { ...(await done), pieces: map }
}

/** Splits `data` into chunks of `size` (the source need not align with segments). */
export function* chunked(data: Uint8Array, size: number): Iterable<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += size) yield data.subarray(i, i + size)
}

export interface FetchPlan {
  /** Slots that fail for a segment (`missing(segment)` returns the set). */
  missing?: (segment: number) => ReadonlySet<number>
  corrupt?: (segment: number) => ReadonlySet<number>
  log?: PieceRequest[]
}

export function mapFetcher(pieces: Map<string, Uint8Array>, plan: FetchPlan = {}) {
  return async (request: PieceRequest) => {
    plan.log?.push(request)
    if (plan.missing?.(request.segment).has(request.slot)) throw new Error('node offline')
    const bytes = pieces.get(`${request.segment}/${request.slot}`)
    if (bytes === undefined) throw new Error('no such piece')
    if (plan.corrupt?.(request.segment).has(request.slot)) {
      const bad = Uint8Array.from(bytes)
      bad[bad.byteLength >> 1]! ^= 0x40
      return bad
    }
    return bytes
  }
}

export async function decodeAll(
  manifest: Manifest,
  key: Uint8Array,
  pieces: Map<string, Uint8Array>,
  plan: FetchPlan = {},
  init: DecodeInit = {},
): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of decodeFile(manifest, key, mapFetcher(pieces, plan), init))
    parts.push(Uint8Array.from(chunk))
  return concat(parts)
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}

/** Every subset of `0..n-1` with at most `max` members. */
export function subsetsUpTo(n: number, max: number): number[][] {
  const out: number[][] = []
  const walk = (start: number, current: number[]) => {
    out.push(current)
    if (current.length === max) return
    for (let i = start; i < n; i++) walk(i + 1, [...current, i])
  }
  walk(0, [])
  return out
}
