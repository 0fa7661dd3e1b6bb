/**
 * Segmenter: turns any byte source (a file stream, stdin, an async iterable, an array of chunks) into segments of
 * `segmentSize` bytes, the last one shorter. It reads one segment ahead so each segment knows whether it is the last
 * (the last one's authenticated data says so). An empty source gives one empty, final segment.
 */
import { InvalidArgumentError, throwIfAborted } from '../errors.ts'
import type { AbortOptions } from './interface.ts'

export interface Segment {
  index: number
  /** A fresh buffer the consumer owns (it may be transferred to a worker). */
  bytes: Uint8Array
  final: boolean
}

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/**
 * Cuts `source` into segments.
 *
 * @example
 * ```ts
 * for await (const segment of segmenter(createReadStream('big.bin'), 4 * 1024 * 1024)) console.log(segment.index)
 * ```
 */
export async function* segmenter(source: ByteSource, segmentSize: number, options: AbortOptions = {}) {
  let current = new Uint8Array(segmentSize)
  let filled = 0
  let held: Uint8Array | undefined
  let index = 0
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    throwIfAborted(options.signal)
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidArgumentError(`a byte source must yield Uint8Array chunks, got ${typeof chunk}`)
    }
    let offset = 0
    while (offset < chunk.byteLength) {
      if (filled === segmentSize) {
        if (held !== undefined) yield { index: index++, bytes: held, final: false } satisfies Segment
        held = current
        current = new Uint8Array(segmentSize)
        filled = 0
      }
      const take = Math.min(segmentSize - filled, chunk.byteLength - offset)
      current.set(chunk.subarray(offset, offset + take), filled)
      filled += take
      offset += take
    }
  }
  throwIfAborted(options.signal)
  if (held !== undefined) {
    if (filled === 0) {
      yield { index: index++, bytes: held, final: true } satisfies Segment
      return
    }
    yield { index: index++, bytes: held, final: false } satisfies Segment
  }
  yield { index, bytes: filled === segmentSize ? current : current.slice(0, filled), final: true } satisfies Segment
}
