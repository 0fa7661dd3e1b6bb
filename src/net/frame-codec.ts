/**
 * Length-prefixed frames: a 4-byte big-endian unsigned length, then that many bytes of body.
 * The reader checks the announced length against the caller's cap, then holds only the bytes that have arrived
 * (each one reserved as it arrives): a peer that announces 16 MiB and sends one byte holds one byte, not 16 MiB.
 */
import { ProtocolError } from '../errors.ts'

/** Bytes of the length prefix. */
export const FRAME_HEADER_SIZE = 4

/** What a libp2p v3 stream yields: a Uint8Array or a Uint8ArrayList (which has `subarray()`). */
export type StreamChunk = Uint8Array | { subarray(): Uint8Array }

/**
 * Why a stream was refused: the first four are the sender's fault; 'limit' is a banned peer; 'busy' is a refusal
 * for load (a stream or bytes-in-flight budget is full) and costs the sender nothing.
 */
export type ProtocolErrorReason = 'oversize' | 'truncated' | 'malformed' | 'unexpected' | 'limit' | 'busy'

/** Builds a ProtocolError whose `details.reason` tells peer scoring how bad the violation was. */
export function protocolError(reason: ProtocolErrorReason, message: string, details: Record<string, unknown> = {}) {
  return new ProtocolError(message, { details: { reason, ...details } })
}

/** The 4-byte prefix announcing a body of `length` bytes. */
export function encodeFrameHeader(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw protocolError('oversize', `frame length ${length} cannot be encoded`)
  }
  const header = new Uint8Array(FRAME_HEADER_SIZE)
  new DataView(header.buffer).setUint32(0, length)
  return header
}

/** Prefix + body in one buffer (for small messages; large bodies are sent as header then body). */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_SIZE + body.byteLength)
  frame.set(encodeFrameHeader(body.byteLength), 0)
  frame.set(body, FRAME_HEADER_SIZE)
  return frame
}

export interface ReadFrameOptions {
  /** Largest body accepted; a longer announced length throws before any allocation. */
  maxLength: number
  /**
   * Called with the size of each piece of the body as it arrives, before it is kept (the sum is the body's length);
   * may throw to refuse the frame.
   */
  reserve?: (bytes: number) => void
}

/**
 * Reads successive frames from a stream's chunks.
 *
 * @example
 * ```ts
 * const reader = new FrameReader(stream)
 * const body = await reader.read({ maxLength: 65536 }) // undefined when the remote closed cleanly
 * ```
 */
export class FrameReader {
  readonly #iterator: AsyncIterator<StreamChunk>
  #chunks: Uint8Array[] = []
  #buffered = 0
  #ended = false

  constructor(source: AsyncIterable<StreamChunk>) {
    this.#iterator = source[Symbol.asyncIterator]()
  }

  /** Pulls one more chunk; false at end of stream. */
  async #pull(): Promise<boolean> {
    if (this.#ended) return false
    const next = await this.#iterator.next()
    if (next.done === true) {
      this.#ended = true
      return false
    }
    const chunk = next.value instanceof Uint8Array ? next.value : next.value.subarray()
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.byteLength
    }
    return true
  }

  /** Copies `length` buffered bytes into `target` at `offset` and drops them from the buffer. */
  #take(target: Uint8Array, offset: number, length: number): void {
    let written = 0
    while (written < length) {
      const part = this.#takeUpTo(length - written)
      target.set(part, offset + written)
      written += part.byteLength
    }
  }

  /** Removes and returns (without copying) at most `length` bytes from the front of the first buffered chunk. */
  #takeUpTo(length: number): Uint8Array {
    const chunk = this.#chunks[0]!
    const n = Math.min(chunk.byteLength, length)
    if (n === chunk.byteLength) this.#chunks.shift()
    else this.#chunks[0] = chunk.subarray(n)
    this.#buffered -= n
    return n === chunk.byteLength ? chunk : chunk.subarray(0, n)
  }

  /** Bytes received but not yet returned in a frame. */
  get buffered(): number {
    return this.#buffered
  }

  /**
   * Reads the next frame's body. Returns undefined when the stream ended cleanly before a new frame began;
   * throws ProtocolError on an oversize length (before allocating) or a truncated frame.
   */
  async read(options: ReadFrameOptions): Promise<Uint8Array | undefined> {
    while (this.#buffered < FRAME_HEADER_SIZE) {
      if (!(await this.#pull())) {
        if (this.#buffered === 0) return undefined
        throw protocolError('truncated', 'stream ended inside a frame header')
      }
    }
    const header = new Uint8Array(FRAME_HEADER_SIZE)
    this.#take(header, 0, FRAME_HEADER_SIZE)
    const length = new DataView(header.buffer).getUint32(0)
    if (length > options.maxLength) {
      throw protocolError('oversize', `frame of ${length} bytes exceeds the limit of ${options.maxLength}`, {
        length,
        maxLength: options.maxLength,
      })
    }
    // keep the arrived pieces as they are and join them once the frame is complete: memory grows with what the
    // sender actually sent, never with what it announced
    const parts: Uint8Array[] = []
    let filled = 0
    while (filled < length) {
      if (this.#buffered === 0 && !(await this.#pull())) {
        throw protocolError('truncated', `stream ended after ${filled} of ${length} frame bytes`, { length, filled })
      }
      const part = this.#takeUpTo(length - filled)
      options.reserve?.(part.byteLength)
      parts.push(part)
      filled += part.byteLength
    }
    // one copy, as before: the body is the caller's own buffer, not a view into the transport's
    const body = new Uint8Array(length)
    let offset = 0
    for (const part of parts) {
      body.set(part, offset)
      offset += part.byteLength
    }
    return body
  }

  /** Resolves true when the stream ends with no further bytes, false when extra bytes arrive. */
  async expectEnd(): Promise<boolean> {
    if (this.#buffered > 0) return false
    while (await this.#pull()) {
      if (this.#buffered > 0) return false
    }
    return true
  }
}
