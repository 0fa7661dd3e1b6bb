/**
 * The decode side: manifest + key + a piece fetcher -> the file's bytes (or a byte range), fetching several segments
 * ahead, k verified pieces per segment from the preferred slots, falling back and hedging on failed or slow slots.
 * Each segment's decoded ciphertext must hash to the manifest's `ciphertextHash`; when k pieces that each match their
 * CID do not (a forged upload), other sets of k pieces are tried before the segment fails.
 */

import {
  AbortedError,
  CairnError,
  CorruptDataError,
  InvalidArgumentError,
  NotEnoughPiecesError,
  throwIfAborted,
} from '../errors.ts'
import { releaseBuffer } from './buffer-release.ts'
import { bytesEqual } from './bytes-equal.ts'
import { DEFAULT_DECODE_CONCURRENCY, DEFAULT_PIECE_HEDGE_MS, MAX_SEGMENT_DECODE_ATTEMPTS } from './constants.ts'
import type { AbortOptions, DecodeInit, Manifest, PieceFetcher, PieceRequest } from './interface.ts'
import { pieceSize, segmentPlaintextSize } from './manifest.ts'
import { assertKeyMatches } from './metadata.ts'
import { verifyPiece } from './piece-cid.ts'
import { deriveFileKeys } from './segment-cipher.ts'
import { CIPHERTEXT_HASH_MISMATCH, SegmentCodec } from './segment-codec.ts'
import { createSegmentWorkerPool } from './segment-worker-pool.ts'

function slotOrder(manifest: Manifest, preferred: readonly number[] | undefined): number[] {
  const order: number[] = []
  for (const slot of preferred ?? []) {
    if (Number.isInteger(slot) && slot >= 0 && slot < manifest.n && !order.includes(slot)) order.push(slot)
  }
  for (let slot = 0; slot < manifest.n; slot++) if (!order.includes(slot)) order.push(slot)
  return order
}

function reasonOf(error: unknown): string {
  if (error instanceof CairnError) return `${error.code}: ${error.message}`
  return error instanceof Error ? error.message : String(error)
}

interface FetchContext {
  manifest: Manifest
  fetchPiece: PieceFetcher
  order: number[]
  hedgeAfter: number
  init: DecodeInit
}

/**
 * Gets `want` verified pieces of segment `index` (k by default; `pieces[slot]` or undefined). When every slot was
 * tried, settles for `minimum` (k by default), else throws `NotEnoughPiecesError`.
 */
function fetchSegmentPieces(
  context: FetchContext,
  index: number,
  signal: AbortSignal,
  want = context.manifest.k,
  minimum = context.manifest.k,
): Promise<Array<Uint8Array | undefined>> {
  const { manifest, fetchPiece, order, hedgeAfter, init } = context
  const segment = manifest.segments[index]!
  const expectedSize = pieceSize(segment.size, manifest.k)
  const digestOf = (slot: number) => segment.pieces[slot]!.multihash.digest
  return new Promise((resolve, reject) => {
    const pieces = new Array<Uint8Array | undefined>(manifest.n).fill(undefined)
    const failures: Array<{ slot: number; reason: string }> = []
    const controllers = new Set<AbortController>()
    const timers = new Set<ReturnType<typeof setTimeout>>()
    let good = 0
    let active = 0
    let next = 0
    let settled = false

    const finish = (error?: unknown) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      for (const timer of timers) clearTimeout(timer)
      for (const controller of controllers) controller.abort(new AbortedError('enough pieces arrived'))
      if (error === undefined) resolve(pieces)
      else reject(error)
    }
    const onAbort = () => finish(new AbortedError('the read was cancelled', { cause: signal.reason }))
    signal.addEventListener('abort', onAbort)

    const fill = () => {
      while (!settled && good + active < want && next < order.length) launch(order[next++]!)
      if (!settled && active === 0 && next >= order.length && good >= minimum) finish()
      if (!settled && good < want && active === 0 && next >= order.length) {
        const list = failures.map((f) => `slot ${f.slot}: ${f.reason}`).join('; ')
        finish(
          new NotEnoughPiecesError(
            `segment ${index}: only ${good} of the ${minimum} pieces needed could be obtained (${list})`,
            { details: { segment: index, needed: minimum, obtained: good, failures } },
          ),
        )
      }
    }

    const launch = (slot: number) => {
      active++
      const request: PieceRequest = { segment: index, slot, cid: segment.pieces[slot]! }
      const controller = new AbortController()
      controllers.add(controller)
      let done = false
      const timer = setTimeout(() => {
        timers.delete(timer)
        // Slow: race it with one more slot, keep it running.
        if (!settled && !done && next < order.length) launch(order[next++]!)
      }, hedgeAfter)
      timers.add(timer)
      const requestSignal = AbortSignal.any([signal, controller.signal])
      Promise.resolve()
        .then(() => fetchPiece(request, { signal: requestSignal }))
        .then((bytes) => {
          if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('the piece fetcher returned no bytes')
          try {
            verifyPiece(request.cid, bytes)
          } catch (error) {
            init.onCorruptPiece?.(request, error as Error)
            throw error
          }
          if (bytes.byteLength !== expectedSize) {
            throw new InvalidArgumentError(`piece is ${bytes.byteLength} bytes, the manifest implies ${expectedSize}`)
          }
          if (manifest.k === 1 && !bytesEqual(digestOf(slot), segment.ciphertextHash)) {
            throw new CorruptDataError(
              `segment ${index} slot ${slot}: with k = 1 the piece must be the segment's ciphertext, and its CID does not carry the manifest's ciphertextHash`,
              { details: { segment: index, slot, reason: CIPHERTEXT_HASH_MISMATCH } },
            )
          }
          return bytes
        })
        .then(
          (bytes) => {
            if (settled || pieces[slot] !== undefined) return
            pieces[slot] = bytes
            good++
            if (good >= want) finish()
          },
          (error: unknown) => {
            if (settled) return
            const reason = reasonOf(error)
            failures.push({ slot, reason })
            init.onProgress?.({ type: 'piece-failed', segment: index, slot, reason })
          },
        )
        .finally(() => {
          done = true
          clearTimeout(timer)
          timers.delete(timer)
          controllers.delete(controller)
          active--
          fill()
        })
    }
    fill()
  })
}

function isCiphertextHashMismatch(error: unknown): error is CorruptDataError {
  return error instanceof CorruptDataError && error.details?.reason === CIPHERTEXT_HASH_MISMATCH
}

/** The k-subsets of `slots` (in order), lazily. */
function* subsetsOf(slots: readonly number[], k: number, start = 0): Generator<number[]> {
  if (k === 0) {
    yield []
    return
  }
  for (let i = start; i <= slots.length - k; i++) {
    for (const rest of subsetsOf(slots, k - 1, i + 1)) yield [slots[i]!, ...rest]
  }
}

/**
 * The k pieces in `tried` decoded to a ciphertext other than the manifest's: fetches every reachable piece again
 * and tries other sets of k (at most `MAX_SEGMENT_DECODE_ATTEMPTS` in all), on this thread. Returns the first set
 * that gives `ciphertextHash`, else throws a `CorruptDataError` naming the segment.
 */
async function decodeFromOtherPieces(
  context: FetchContext,
  codec: SegmentCodec,
  index: number,
  tried: readonly number[],
  first: CorruptDataError,
  signal: AbortSignal,
): Promise<{ plain: Uint8Array; slots: number[] }> {
  const { manifest } = context
  const segment = manifest.segments[index]!
  const pieces = await fetchSegmentPieces(context, index, signal, manifest.n, manifest.k)
  const available = pieces.flatMap((p, slot) => (p === undefined ? [] : [slot]))
  const triedKey = [...tried].sort((x, y) => x - y).join(',')
  let attempts = 1
  try {
    for (const slots of subsetsOf(available, manifest.k)) {
      if (attempts >= MAX_SEGMENT_DECODE_ATTEMPTS) break
      if (slots.join(',') === triedKey) continue
      throwIfAborted(signal)
      attempts++
      const subset = pieces.map((piece, slot) => (slots.includes(slot) ? piece : undefined))
      try {
        const final = index === manifest.segments.length - 1
        const plain = codec.decode(index, segment, final, segmentPlaintextSize(manifest, index), subset)
        return { plain, slots }
      } catch (error) {
        if (!isCiphertextHashMismatch(error)) throw error
      }
    }
  } finally {
    if (context.init.releasePieces === true) for (const piece of pieces) if (piece !== undefined) releaseBuffer(piece)
  }
  throw new CorruptDataError(
    `segment ${index}: no set of ${manifest.k} pieces decodes to what the manifest's ciphertextHash commits to (${attempts} sets of the ${available.length} reachable slots ${available.join(', ')} tried; the first: ${first.message})`,
    { cause: first, details: { segment: index, reason: CIPHERTEXT_HASH_MISMATCH, slots: available, attempts } },
  )
}

/**
 * Decodes a file (or the byte range `init.offset`, `init.length`) from its manifest, its key and a piece fetcher.
 * Only the segments that hold the range are fetched. Throws `DecryptionError` for a wrong key,
 * `NotEnoughPiecesError` when fewer than k good pieces of a segment can be had, `AbortedError` on cancel.
 *
 * @example
 * ```ts
 * const manifest = decodeManifest(manifestBytes, manifestCid)
 * for await (const chunk of decodeFile(manifest, key, ({ cid }) => store.get(cid), { offset: 1000, length: 10 })) {
 *   process.stdout.write(chunk)
 * }
 * ```
 */
export async function* decodeFile(
  manifest: Manifest,
  key: Uint8Array,
  fetchPiece: PieceFetcher,
  init: DecodeInit = {},
  options: AbortOptions = {},
): AsyncGenerator<Uint8Array> {
  const keys = deriveFileKeys(key, manifest.salt)
  assertKeyMatches(manifest, keys)
  const offset = init.offset ?? 0
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > manifest.size) {
    throw new InvalidArgumentError(`offset ${offset} is outside the file (0..${manifest.size})`)
  }
  const length = Math.min(init.length ?? manifest.size - offset, manifest.size - offset)
  if (!Number.isSafeInteger(length) || length < 0) throw new InvalidArgumentError(`length ${init.length} is invalid`)
  const workers = init.workers ?? 0
  if (!Number.isInteger(workers) || workers < 0 || workers > 256) {
    throw new InvalidArgumentError(`workers must be an integer from 0 to 256, got ${workers}`)
  }
  const concurrency = init.concurrency ?? Math.max(DEFAULT_DECODE_CONCURRENCY, workers + 1)
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidArgumentError(`concurrency must be a positive integer, got ${concurrency}`)
  }
  if (length === 0) return
  const end = offset + length
  const first = Math.floor(offset / manifest.segmentSize)
  const last = Math.floor((end - 1) / manifest.segmentSize)
  const codecInit = { k: manifest.k, n: manifest.n, compressionLevel: 1, keys }
  const codec = new SegmentCodec(codecInit)
  const pool = workers > 0 ? createSegmentWorkerPool({ ...codecInit, workers }) : undefined
  const lastIndex = manifest.segments.length - 1
  /** Fetches and decodes one segment; segments after it may be decoding at the same time. */
  const segmentTask = async (index: number) => {
    const pieces = await fetchSegmentPieces(context, index, signal)
    const segment = manifest.segments[index]!
    const plaintextSize = segmentPlaintextSize(manifest, index)
    const owned = init.releasePieces === true
    const slots = pieces.flatMap((p, slot) => (p === undefined ? [] : [slot]))
    let plain: Uint8Array
    try {
      plain =
        pool === undefined
          ? codec.decode(index, segment, index === lastIndex, plaintextSize, pieces)
          : await pool.decode(index, segment, index === lastIndex, plaintextSize, pieces, owned)
    } catch (error) {
      if (!isCiphertextHashMismatch(error)) throw error
      return decodeFromOtherPieces(context, codec, index, slots, error, signal)
    }
    if (pool === undefined && owned) {
      for (const piece of pieces) if (piece !== undefined && piece !== plain) releaseBuffer(piece)
    }
    return { plain, slots }
  }
  const context: FetchContext = {
    manifest,
    fetchPiece,
    order: slotOrder(manifest, init.slotOrder),
    hedgeAfter: init.hedgeAfter ?? DEFAULT_PIECE_HEDGE_MS,
    init,
  }
  const controller = new AbortController()
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal])
  const inflight: Array<Promise<{ plain: Uint8Array; slots: number[] }>> = []
  let nextFetch = first
  try {
    for (let index = first; index <= last; index++) {
      throwIfAborted(options.signal)
      while (nextFetch <= last && inflight.length < concurrency) {
        const job = segmentTask(nextFetch++)
        job.catch(() => {})
        inflight.push(job)
      }
      const { plain, slots } = await inflight.shift()!
      throwIfAborted(options.signal)
      const plaintextSize = plain.byteLength
      init.onProgress?.({ type: 'segment-decoded', segment: index, plaintextBytes: plaintextSize, slots })
      const base = index * manifest.segmentSize
      const from = Math.max(offset, base) - base
      const to = Math.min(end, base + plaintextSize) - base
      yield from === 0 && to === plain.byteLength ? plain : plain.subarray(from, to)
    }
  } finally {
    controller.abort(new AbortedError('the read ended'))
    await Promise.allSettled(inflight)
  }
}
