/** The memory of a put's pieces: counted once per buffer, and freed as soon as every slot acknowledged its piece. */
import { releaseBuffer } from '../storage/index.ts'

/**
 * The buffers of the segments a put has in flight (with k = 1 the n pieces of a segment are one buffer, the
 * ciphertext sent to every slot). Once the n pieces of a segment are acknowledged, its buffers are freed at once
 * (detached) instead of at the next garbage collection: V8 lets tens of MB of dead array buffers pile up before it
 * collects them.
 *
 * @example
 * ```ts
 * segments.add(piece)
 * const clean = await upload.storeEncodedPiece(piece)
 * segments.done(piece.segment, clean)
 * ```
 */
export class SegmentBuffers {
  readonly #n: number
  readonly #open = new Map<number, { buffers: Set<Uint8Array>; left: number; clean: boolean }>()

  constructor(n: number) {
    this.#n = n
  }

  /** Records a piece of its segment. */
  add(piece: { segment: number; bytes: Uint8Array }): void {
    let open = this.#open.get(piece.segment)
    if (open === undefined) {
      open = { buffers: new Set(), left: this.#n, clean: true }
      this.#open.set(piece.segment, open)
    }
    open.buffers.add(piece.bytes)
  }

  /**
   * One piece of `segment` is settled; after the n-th, the segment's buffers are freed, unless a piece was not
   * `clean` (stored only after a failed attempt, whose stream may still hold its bytes: then the GC frees them).
   */
  done(segment: number, clean = true): void {
    const open = this.#open.get(segment)
    if (open === undefined) return
    open.clean &&= clean
    if (--open.left > 0) return
    this.#open.delete(segment)
    if (open.clean) for (const bytes of open.buffers) releaseBuffer(bytes)
  }
}
