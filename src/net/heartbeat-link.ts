/**
 * One long-lived `/cairn/heartbeat/1.0.0` stream to a watched peer. Every interval the watcher writes its latest
 * heartbeat frame on it and the peer answers each with its own; the stream stays open between beats. Opening a stream
 * per beat cost a multistream-select negotiation, two yamux stream set-ups and tear-downs and two peer-store writes
 * (libp2p records the protocol on every new stream) per peer per second: most of an idle node's CPU.
 *
 * A peer that answers once and closes (the one-exchange-per-stream form) is still served: the link ends at its close
 * and the next beat opens a new one.
 */
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { TimeoutError } from '../errors.ts'
import { HEARTBEAT_PROTOCOL, MAX_HEARTBEAT_SIZE } from './constants.ts'
import { encodeFrame, FrameReader, protocolError } from './frame-codec.ts'
import { decodeHeartbeat, type Heartbeat } from './heartbeat-message.ts'
import type { CairnLibp2p } from './libp2p-host.ts'
import { openProtocolStream } from './open-stream.ts'
import { createDeadline, writeAll } from './stream-io.ts'

/** A heartbeat stream to one peer; `onAnswer` gets each verified heartbeat the peer answers with. */
export class HeartbeatLink {
  readonly #stream: Stream
  readonly #peerId: string
  /** When the oldest beat still without an answer was sent (performance.now()), or undefined. */
  #unansweredSince: number | undefined
  #closed = false

  private constructor(stream: Stream, peerId: string) {
    this.#stream = stream
    this.#peerId = peerId
  }

  /**
   * Opens the stream (within `timeoutMs`) and starts reading answers. `onEnd` runs once when the link ends (the peer
   * closed it, an answer was malformed, or `close`).
   */
  static async open(
    libp2p: CairnLibp2p,
    peerId: string,
    timeoutMs: number,
    onAnswer: (heartbeat: Heartbeat) => void,
    onEnd: () => void,
  ): Promise<HeartbeatLink> {
    const deadline = createDeadline(timeoutMs)
    const stream = await openProtocolStream(libp2p, peerIdFromString(peerId), HEARTBEAT_PROTOCOL, deadline.signal)
    const link = new HeartbeatLink(stream, peerId)
    void link.#readAnswers(onAnswer).finally(() => {
      link.close()
      onEnd()
    })
    return link
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Writes one heartbeat frame. Throws (and closes the link) when the write does not finish within `timeoutMs`, or
   * when a beat sent `timeoutMs` ago or more is still without an answer.
   */
  async beat(frame: Uint8Array, timeoutMs: number): Promise<void> {
    const now = performance.now()
    if (this.#unansweredSince !== undefined && now - this.#unansweredSince >= timeoutMs) {
      this.abort(new TimeoutError(`peer ${this.#peerId} left a heartbeat unanswered for ${timeoutMs} ms`))
      throw new TimeoutError('heartbeat unanswered')
    }
    this.#unansweredSince ??= now
    const deadline = createDeadline(timeoutMs)
    const detach = deadline.guard(this.#stream)
    try {
      await writeAll(this.#stream, encodeFrame(frame), deadline.signal)
    } catch (error) {
      this.abort(error instanceof Error ? error : new Error(String(error)))
      throw error
    } finally {
      detach()
    }
  }

  /** Closes the link gracefully (the peer sees the end of the stream). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#stream.close().catch((error: unknown) => this.#stream.abort(error as Error))
  }

  abort(error: Error): void {
    this.#closed = true
    this.#stream.abort(error)
  }

  async #readAnswers(onAnswer: (heartbeat: Heartbeat) => void): Promise<void> {
    const reader = new FrameReader(this.#stream)
    try {
      for (;;) {
        const body = await reader.read({ maxLength: MAX_HEARTBEAT_SIZE })
        if (body === undefined) return
        const heartbeat = await decodeHeartbeat(body)
        if (heartbeat.peerId !== this.#peerId) throw protocolError('malformed', 'answer signed by another peer')
        this.#unansweredSince = undefined
        onAnswer(heartbeat)
      }
    } catch (error) {
      // an unreachable or misbehaving peer simply stops producing heartbeats; the detector does the rest
      if (!this.#closed) this.abort(error instanceof Error ? error : new Error(String(error)))
    }
  }
}
