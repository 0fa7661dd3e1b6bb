/**
 * Frees a large transient buffer at once instead of at the next garbage collection. V8 lets roughly 64 MB of dead
 * ArrayBuffers pile up per isolate before it collects them, and glibc keeps freed memory mapped, so without this
 * the data path's RSS would sit 100-200 MB above what it holds live. Detaching (`ArrayBuffer.prototype.transfer(0)`)
 * returns the memory right away.
 *
 * Only for buffers the storage code allocated itself and will not read again: any other view of the same memory
 * becomes empty.
 */

/** Smaller buffers may share a pooled ArrayBuffer (Node pools allocations under 4 KiB); never detach those. */
const MIN_RELEASE_SIZE = 64 * 1024

export function releaseBuffer(bytes: Uint8Array): void {
  const buffer = bytes.buffer
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < MIN_RELEASE_SIZE || buffer.detached) return
  if (typeof buffer.transfer === 'function') buffer.transfer(0)
}
