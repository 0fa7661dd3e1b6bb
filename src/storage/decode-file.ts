/**
 * The decode side: manifest + key + a piece fetcher -> the file's bytes (or a byte range), fetching several segments
 * ahead, k verified pieces per segment from the preferred slots, falling back and hedging on failed or slow slots.
 */

import { AbortedError, CairnError, InvalidArgumentError, NotEnoughPiecesError, throwIfAborted } from '../errors.ts'
import { releaseBuffer } from './buffer-release.ts'
import { DEFAULT_DECODE_CONCURRENCY, DEFAULT_PIECE_HEDGE_MS } from './constants.ts'
import type { AbortOptions, DecodeInit, Manifest, PieceFetcher, PieceRequest } from './interface.ts'
import { pieceSize, segmentPlaintextSize } from './manifest.ts'
import { assertKeyMatches } from './metadata.ts'
import { verifyPiece } from './piece-cid.ts'
import { deriveFileKeys } from './segment-cipher.ts'
import { SegmentCodec } from './segment-codec.ts'
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

/** Gets k verified pieces of segment `index`; `pieces[slot]` or undefined. */
function fetchSegmentPieces(
  context: FetchContext,
  index: number,
  signal: AbortSignal,
): Promise<Array<Uint8Array | undefined>> {
  const { manifest, fetchPiece, order, hedgeAfter, init } = context
  const segment = manifest.segments[index]!
  const expectedSize = pieceSize(segment.size, manifest.k)
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
      while (!settled && good + active < manifest.k && next < order.length) launch(order[next++]!)
      if (!settled && good < manifest.k && active === 0 && next >= order.length) {
        const list = failures.map((f) => `slot ${f.slot}: ${f.reason}`).join('; ')
        finish(
          new NotEnoughPiecesError(
            `segment ${index}: only ${good} of the ${manifest.k} pieces needed could be obtained (${list})`,
            { details: { segment: index, needed: manifest.k, obtained: good, failures } },
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
          return bytes
        })
        .then(
          (bytes) => {
            if (settled || pieces[slot] !== undefined) return
            pieces[slot] = bytes
            good++
            if (good >= manifest.k) finish()
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
    const plain =
      pool === undefined
        ? codec.decode(index, segment, index === lastIndex, plaintextSize, pieces)
        : await pool.decode(index, segment, index === lastIndex, plaintextSize, pieces, owned)
    if (pool === undefined && owned) {
      for (const piece of pieces) if (piece !== undefined && piece !== plain) releaseBuffer(piece)
    }
    return { plain, slots: pieces.flatMap((p, slot) => (p === undefined ? [] : [slot])) }
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
