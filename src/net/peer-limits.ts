/**
 * Per-peer and total limits on inbound piece streams and bytes in flight. A slot is taken when a stream opens and
 * bytes are reserved when a frame's length is announced (before the frame's buffer is allocated).
 */
import { protocolError } from './frame-codec.ts'

export interface PeerLimitsInit {
  maxStreamsPerPeer: number
  maxBytesPerPeer: number
  maxBytesTotal: number
}

/** One stream's hold on the limits; `release()` returns everything it took. */
export interface StreamLease {
  reserve(bytes: number): void
  release(): void
}

/**
 * @example
 * ```ts
 * const limits = new PeerLimits({ maxStreamsPerPeer: 16, maxBytesPerPeer: 64 << 20, maxBytesTotal: 256 << 20 })
 * const lease = limits.open(peerId) // throws ProtocolError (reason 'limit') when the peer has too many streams
 * try { lease.reserve(frameLength) } finally { lease.release() }
 * ```
 */
export class PeerLimits {
  readonly #init: PeerLimitsInit
  readonly #streams = new Map<string, number>()
  readonly #bytes = new Map<string, number>()
  #totalBytes = 0

  constructor(init: PeerLimitsInit) {
    this.#init = init
  }

  streams(peerId: string): number {
    return this.#streams.get(peerId) ?? 0
  }

  bytesInFlight(peerId?: string): number {
    return peerId === undefined ? this.#totalBytes : (this.#bytes.get(peerId) ?? 0)
  }

  open(peerId: string): StreamLease {
    const streams = this.streams(peerId)
    if (streams >= this.#init.maxStreamsPerPeer) {
      throw protocolError('limit', `peer has ${streams} piece streams open (limit ${this.#init.maxStreamsPerPeer})`)
    }
    this.#streams.set(peerId, streams + 1)
    let reserved = 0
    let released = false
    return {
      reserve: (bytes: number) => {
        const peerBytes = this.bytesInFlight(peerId)
        if (peerBytes + bytes > this.#init.maxBytesPerPeer) {
          throw protocolError('limit', `peer would have ${peerBytes + bytes} bytes in flight`, { bytes })
        }
        if (this.#totalBytes + bytes > this.#init.maxBytesTotal) {
          throw protocolError('limit', 'node has too many bytes in flight', { bytes })
        }
        reserved += bytes
        this.#bytes.set(peerId, peerBytes + bytes)
        this.#totalBytes += bytes
      },
      release: () => {
        if (released) return
        released = true
        const left = this.bytesInFlight(peerId) - reserved
        if (left > 0) this.#bytes.set(peerId, left)
        else this.#bytes.delete(peerId)
        this.#totalBytes -= reserved
        const open = this.streams(peerId) - 1
        if (open > 0) this.#streams.set(peerId, open)
        else this.#streams.delete(peerId)
      },
    }
  }
}
