/**
 * Per-peer and total limits on inbound piece streams and bytes in flight. A slot is taken when a stream opens; bytes
 * are reserved as a request's body arrives (not when its length is announced) and when a fetch answer is about to be
 * sent (its piece stays in memory until the peer has read it). A refusal is a ProtocolError of reason 'busy': it
 * says the node is loaded, not that the peer misbehaved, so it costs the peer no score.
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
 * const lease = limits.open(peerId) // throws ProtocolError (reason 'busy') when the peer has too many streams
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
      throw protocolError(
        'busy',
        `node is busy: peer has ${streams} piece streams open (limit ${this.#init.maxStreamsPerPeer})`,
      )
    }
    this.#streams.set(peerId, streams + 1)
    let reserved = 0
    let released = false
    return {
      reserve: (bytes: number) => {
        const peerBytes = this.bytesInFlight(peerId)
        if (peerBytes + bytes > this.#init.maxBytesPerPeer) {
          throw protocolError('busy', `node is busy: peer would have ${peerBytes + bytes} bytes in flight`, { bytes })
        }
        if (this.#totalBytes + bytes > this.#init.maxBytesTotal) {
          throw protocolError('busy', 'node is busy: too many bytes in flight', { bytes })
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
