/**
 * `/cairn/slot-accept/1.0.0`: how a client gets a storage node's consent, one request and one answer per stream.
 * A `reserve` asks for room for an upload (bytes, lifetime), on a node on chain with the paying account's signed
 * upload ticket: the node's piece protocol then accepts pieces from that peer only within the reserved bytes, until
 * the reservation expires. An `accept` asks the node to sign its
 * acceptance of one deal slot (EIP-712 `SlotAcceptance`, which the Market requires). Either may be refused with a
 * reason. Frames are size-capped before allocation; malformed frames reset the stream and cost the sender score, as
 * on the piece protocol.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { QuotaExceededError, UnauthorizedError } from '../errors.ts'
import type { AbortOptions } from '../storage/index.ts'
import { DEFAULT_SLOT_ACCEPT_TIMEOUT_MS } from './constants.ts'
import { encodeFrame, FrameReader, protocolError } from './frame-codec.ts'
import type { SlotAcceptanceHandler } from './interface.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { PeerScores } from './peer-scores.ts'
import { requestStream, serveStream } from './served-stream.ts'
import {
  decodeSlotAcceptanceMessage,
  encodeSlotAcceptanceMessage,
  MAX_SLOT_ACCEPT_FRAME_SIZE,
  SLOT_ACCEPT_PROTOCOL,
  type SlotAcceptanceMessage,
  type WireSlotTerms,
  type WireUploadTicket,
} from './slot-acceptance-messages.ts'
import { writeAll } from './stream-io.ts'

/** A request of the protocol. */
export type SlotAcceptanceRequest = Extract<SlotAcceptanceMessage, { type: 'reserve-request' | 'accept-request' }>
/** The answer to a request (a reserve answer to a reserve request, an accept answer to an accept request). */
export type SlotAcceptanceAnswer = Extract<SlotAcceptanceMessage, { type: 'reserve-response' | 'accept-response' }>

export interface SlotAcceptanceServerInit {
  limits: PeerLimits
  scores: PeerScores
  timeoutMs: number
  handler: SlotAcceptanceHandler
}

/**
 * Serves one inbound slot-accept stream from `remotePeer`. A handler that throws answers a refusal naming the error.
 *
 * @example
 * ```ts
 * await libp2p.handle(SLOT_ACCEPT_PROTOCOL, (stream, connection) =>
 *   serveSlotAcceptanceStream(stream, connection.remotePeer.toString(), { limits, scores, timeoutMs, handler }))
 * ```
 */
export async function serveSlotAcceptanceStream(
  stream: Stream,
  remotePeer: string,
  init: SlotAcceptanceServerInit,
): Promise<'ok' | 'reset'> {
  return serveStream(stream, remotePeer, init, init.timeoutMs, async ({ lease, deadline, local }) => {
    const body = await new FrameReader(stream).read({ maxLength: MAX_SLOT_ACCEPT_FRAME_SIZE, reserve: lease.reserve })
    if (body === undefined) throw protocolError('truncated', 'stream closed before a request')
    const request = decodeSlotAcceptanceMessage(body)
    const options = { signal: deadline.signal }
    let answer: SlotAcceptanceAnswer
    if (request.type === 'reserve-request') {
      answer = await local(
        init.handler
          .reserve(
            remotePeer,
            {
              bytes: request.bytes,
              seconds: request.seconds,
              ...(request.ticket === undefined ? {} : { ticket: request.ticket }),
            },
            options,
          )
          .catch((error: Error) => ({ type: 'reserve-response', granted: false, reason: error.message }) as const),
      )
    } else if (request.type === 'accept-request') {
      answer = await local(
        init.handler
          .accept(remotePeer, request.terms, options)
          .catch((error: Error) => ({ type: 'accept-response', granted: false, reason: error.message }) as const),
      )
    } else {
      throw protocolError('unexpected', `a ${request.type} is not a request`)
    }
    await writeAll(stream, encodeFrame(encodeSlotAcceptanceMessage(answer)), deadline.signal)
    await stream.close({ signal: deadline.signal })
    return 'ok' as const
  })
}

/**
 * Registers the slot-accept handler on `libp2p` (a storing node with an acceptance policy calls it at start).
 *
 * @example
 * ```ts
 * await handleSlotAcceptance(libp2p, { limits, scores, timeoutMs: 10_000, handler }, 16)
 * ```
 */
export async function handleSlotAcceptance(
  libp2p: Libp2p,
  init: SlotAcceptanceServerInit,
  maxInboundStreams: number,
): Promise<void> {
  await libp2p.handle(
    SLOT_ACCEPT_PROTOCOL,
    async (stream, connection) => {
      await serveSlotAcceptanceStream(stream, connection.remotePeer.toString(), init)
    },
    { maxInboundStreams, maxOutboundStreams: 64, runOnLimitedConnection: true },
  )
}

export interface SlotAcceptanceClientInit {
  libp2p: Libp2p
  scores: PeerScores
  controlTimeoutMs: number
}

/**
 * Sends one request to `peer` and returns its answer (granted, or refused with the node's reason).
 *
 * @example
 * ```ts
 * const answer = await askSlotAcceptance(init, peerId, { type: 'reserve-request', bytes: 4_000_000, seconds: 600 })
 * if (answer.type === 'reserve-response' && !answer.granted) throw new Error(answer.reason)
 * ```
 */
export async function askSlotAcceptance(
  init: SlotAcceptanceClientInit,
  peer: string,
  request: SlotAcceptanceRequest,
  options: AbortOptions = {},
): Promise<SlotAcceptanceAnswer> {
  const body = encodeSlotAcceptanceMessage(request)
  // A reservation is answered from memory; an acceptance rehashes the slot first.
  const timeoutMs = request.type === 'accept-request' ? DEFAULT_SLOT_ACCEPT_TIMEOUT_MS : init.controlTimeoutMs
  const timing = { timeoutMs, what: 'slot acceptance', ...options }
  return requestStream(init, SLOT_ACCEPT_PROTOCOL, peer, timing, async (stream, signal) => {
    await writeAll(stream, encodeFrame(body), signal)
    await stream.close({ signal })
    const frame = await new FrameReader(stream).read({ maxLength: MAX_SLOT_ACCEPT_FRAME_SIZE })
    if (frame === undefined) throw protocolError('truncated', 'peer closed the stream without answering')
    const answer = decodeSlotAcceptanceMessage(frame)
    const expected = request.type === 'reserve-request' ? 'reserve-response' : 'accept-response'
    if (answer.type !== expected) throw protocolError('unexpected', `expected a ${expected}`)
    return answer
  })
}

/** What asks a node for a reservation or an acceptance (a Network, or a fake in tests). */
export type SlotAcceptanceRequester = {
  slotAcceptance(peer: string, request: SlotAcceptanceRequest, options?: AbortOptions): Promise<SlotAcceptanceAnswer>
}

/**
 * Reserves room for `bytes` of pieces on `peer` for `seconds` (the peer then accepts pieces from this node up to that
 * many bytes until the reservation expires). A client calls it before uploading a slot, and a repairing node before
 * it pushes a rebuilt slot to its target. A node on chain needs `ticket`, the paying account's signed upload ticket for
 * exactly `bytes` (see `signUploadTicket` in src/node). Throws QuotaExceededError naming the peer and its reason when
 * refused.
 *
 * @example
 * ```ts
 * const { bytes, expiresAt } = await reserveUpload(network, target, { bytes: slotBytes, seconds: 600, ticket })
 * ```
 */
export async function reserveUpload(
  network: SlotAcceptanceRequester,
  peer: string,
  request: { bytes: number; seconds: number; ticket?: WireUploadTicket | undefined },
  options: AbortOptions = {},
): Promise<{ bytes: number; expiresAt: number }> {
  const { ticket, ...size } = request
  const message = { type: 'reserve-request' as const, ...size, ...(ticket === undefined ? {} : { ticket }) }
  const answer = await network.slotAcceptance(peer, message, options)
  if (answer.type !== 'reserve-response') throw protocolError('unexpected', 'expected a reserve answer')
  if (!answer.granted) {
    throw new QuotaExceededError(
      `node ${peer} refused an upload reservation of ${request.bytes} bytes: ${answer.reason}`,
      {
        details: { peer, reason: answer.reason },
      },
    )
  }
  return { bytes: answer.bytes, expiresAt: answer.expiresAt }
}

/**
 * Asks `peer` to sign its acceptance of one deal slot. Throws UnauthorizedError naming the peer, the slot and the
 * node's reason when it refuses (the caller checks the signature's signer before using it).
 *
 * @example
 * ```ts
 * const { nonce, expiry, signature } = await requestSlotAcceptance(network, peerId, terms)
 * ```
 */
export async function requestSlotAcceptance(
  network: SlotAcceptanceRequester,
  peer: string,
  terms: WireSlotTerms,
  options: AbortOptions = {},
): Promise<{ nonce: bigint; expiry: number; signature: `0x${string}` }> {
  const answer = await network.slotAcceptance(peer, { type: 'accept-request', terms }, options)
  if (answer.type !== 'accept-response') throw protocolError('unexpected', 'expected an accept answer')
  if (!answer.granted) {
    throw new UnauthorizedError(`node ${peer} refused slot ${terms.slotIndex}: ${answer.reason}`, {
      details: { peer, slot: terms.slotIndex, reason: answer.reason },
    })
  }
  return { nonce: answer.nonce, expiry: answer.expiry, signature: answer.signature }
}
