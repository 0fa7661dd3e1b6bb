/**
 * Messages of `/cairn/piece/1.0.0`. Each is the body of one frame; byte 0 is the message type.
 *
 * | type | message        | layout after the type byte                                  |
 * |------|----------------|-------------------------------------------------------------|
 * | 0x01 | store request  | u8 cidLength, cid, piece bytes (rest of the frame)          |
 * | 0x02 | store response | u8 status, utf-8 message (rest; empty when ok)              |
 * | 0x03 | fetch request  | u8 cidLength, cid                                           |
 * | 0x04 | fetch response | u8 status, piece bytes when ok, else utf-8 message          |
 * | 0x05 | has request    | u16 count, count x (u8 cidLength, cid)                      |
 * | 0x06 | has response   | u16 count, ceil(count / 8) bytes of bitfield (bit i = LSB-first of byte i>>3) |
 */
import { CID } from 'multiformats/cid'
import { MAX_CID_BYTES, MAX_ERROR_MESSAGE_BYTES, MAX_HAS_CIDS, MAX_PIECE_SIZE } from './constants.ts'
import { protocolError } from './frame-codec.ts'

export const MessageType = {
  StoreRequest: 0x01,
  StoreResponse: 0x02,
  FetchRequest: 0x03,
  FetchResponse: 0x04,
  HasRequest: 0x05,
  HasResponse: 0x06,
} as const

/** Outcome carried by store and fetch responses. */
export const ResponseStatus = {
  Ok: 0,
  NotFound: 1,
  CorruptData: 2,
  QuotaExceeded: 3,
  Busy: 4,
  BadRequest: 5,
  Internal: 6,
} as const
export type ResponseStatusCode = (typeof ResponseStatus)[keyof typeof ResponseStatus]

export type PieceMessage =
  | { type: 'store-request'; cid: CID; bytes: Uint8Array }
  | { type: 'store-response'; status: ResponseStatusCode; message: string }
  | { type: 'fetch-request'; cid: CID }
  | { type: 'fetch-response'; status: ResponseStatusCode; bytes: Uint8Array; message: string }
  | { type: 'has-request'; cids: CID[] }
  | { type: 'has-response'; present: boolean[] }

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

function encodeMessageText(message: string): Uint8Array {
  const bytes = textEncoder.encode(message)
  return bytes.byteLength <= MAX_ERROR_MESSAGE_BYTES ? bytes : bytes.subarray(0, MAX_ERROR_MESSAGE_BYTES)
}

function decodeMessageText(bytes: Uint8Array): string {
  if (bytes.byteLength > MAX_ERROR_MESSAGE_BYTES) throw protocolError('malformed', 'response message too long')
  try {
    return textDecoder.decode(bytes)
  } catch (cause) {
    throw protocolError('malformed', 'response message is not utf-8', { cause: String(cause) })
  }
}

function cidBytes(cid: CID): Uint8Array {
  const bytes = cid.bytes
  if (bytes.byteLength > MAX_CID_BYTES) throw protocolError('oversize', `CID of ${bytes.byteLength} bytes is too long`)
  return bytes
}

/** Reads `u8 length, cid` at `offset`; returns the CID and the offset after it. */
function readCid(body: Uint8Array, offset: number): [CID, number] {
  if (offset >= body.byteLength) throw protocolError('truncated', 'missing CID length')
  const length = body[offset]!
  if (length === 0 || length > MAX_CID_BYTES) throw protocolError('malformed', `bad CID length ${length}`)
  const end = offset + 1 + length
  if (end > body.byteLength) throw protocolError('truncated', 'CID runs past the end of the message')
  let cid: CID
  try {
    cid = CID.decode(body.subarray(offset + 1, end))
  } catch (cause) {
    throw protocolError('malformed', 'undecodable CID', { cause: String(cause) })
  }
  return [cid, end]
}

function readStatus(body: Uint8Array): ResponseStatusCode {
  if (body.byteLength < 2) throw protocolError('truncated', 'response without status')
  const status = body[1]!
  if (status > ResponseStatus.Internal) throw protocolError('malformed', `unknown status ${status}`)
  return status as ResponseStatusCode
}

/**
 * The head of a store request or fetch response: everything but the piece bytes, which the caller sends as a
 * second write so a 16 MiB piece is never copied. The frame length is `head.byteLength + piece.byteLength`.
 */
export function encodeStoreRequestHead(cid: CID): Uint8Array {
  const bytes = cidBytes(cid)
  const head = new Uint8Array(2 + bytes.byteLength)
  head[0] = MessageType.StoreRequest
  head[1] = bytes.byteLength
  head.set(bytes, 2)
  return head
}

export function encodeFetchResponseHead(status: ResponseStatusCode): Uint8Array {
  return Uint8Array.of(MessageType.FetchResponse, status)
}

/**
 * Encodes any piece message into one body (copies piece bytes; use the `*Head` encoders for large payloads).
 *
 * @example
 * ```ts
 * const body = encodePieceMessage({ type: 'fetch-request', cid })
 * decodePieceMessage(body) // { type: 'fetch-request', cid }
 * ```
 */
export function encodePieceMessage(message: PieceMessage): Uint8Array {
  switch (message.type) {
    case 'store-request': {
      const head = encodeStoreRequestHead(message.cid)
      return concat(head, message.bytes)
    }
    case 'store-response':
      return concat(Uint8Array.of(MessageType.StoreResponse, message.status), encodeMessageText(message.message))
    case 'fetch-request': {
      const bytes = cidBytes(message.cid)
      return concat(Uint8Array.of(MessageType.FetchRequest, bytes.byteLength), bytes)
    }
    case 'fetch-response':
      return concat(
        encodeFetchResponseHead(message.status),
        message.status === ResponseStatus.Ok ? message.bytes : encodeMessageText(message.message),
      )
    case 'has-request': {
      if (message.cids.length > MAX_HAS_CIDS) throw protocolError('oversize', `more than ${MAX_HAS_CIDS} CIDs`)
      const parts: Uint8Array[] = [Uint8Array.of(MessageType.HasRequest, message.cids.length >> 8, message.cids.length)]
      for (const cid of message.cids) {
        const bytes = cidBytes(cid)
        parts.push(Uint8Array.of(bytes.byteLength), bytes)
      }
      return concat(...parts)
    }
    case 'has-response': {
      const count = message.present.length
      if (count > MAX_HAS_CIDS) throw protocolError('oversize', `more than ${MAX_HAS_CIDS} answers`)
      const body = new Uint8Array(3 + Math.ceil(count / 8))
      body[0] = MessageType.HasResponse
      body[1] = count >> 8
      body[2] = count & 0xff
      message.present.forEach((present, i) => {
        if (present) body[3 + (i >> 3)]! |= 1 << (i & 7)
      })
      return body
    }
  }
}

/**
 * Decodes one frame body. Throws ProtocolError (never anything else) on any malformed input.
 *
 * @example
 * ```ts
 * const message = decodePieceMessage(body)
 * if (message.type === 'store-request') await store.put(message.cid, message.bytes)
 * ```
 */
export function decodePieceMessage(body: Uint8Array): PieceMessage {
  if (body.byteLength === 0) throw protocolError('truncated', 'empty message')
  const type = body[0]
  switch (type) {
    case MessageType.StoreRequest: {
      const [cid, offset] = readCid(body, 1)
      const bytes = body.subarray(offset)
      if (bytes.byteLength > MAX_PIECE_SIZE) throw protocolError('oversize', 'piece larger than the limit')
      return { type: 'store-request', cid, bytes }
    }
    case MessageType.StoreResponse: {
      const status = readStatus(body)
      return { type: 'store-response', status, message: decodeMessageText(body.subarray(2)) }
    }
    case MessageType.FetchRequest: {
      const [cid, offset] = readCid(body, 1)
      if (offset !== body.byteLength) throw protocolError('malformed', 'trailing bytes after fetch request')
      return { type: 'fetch-request', cid }
    }
    case MessageType.FetchResponse: {
      const status = readStatus(body)
      const rest = body.subarray(2)
      if (status === ResponseStatus.Ok) {
        if (rest.byteLength > MAX_PIECE_SIZE) throw protocolError('oversize', 'piece larger than the limit')
        return { type: 'fetch-response', status, bytes: rest, message: '' }
      }
      return { type: 'fetch-response', status, bytes: new Uint8Array(0), message: decodeMessageText(rest) }
    }
    case MessageType.HasRequest: {
      if (body.byteLength < 3) throw protocolError('truncated', 'has request without count')
      const count = (body[1]! << 8) | body[2]!
      if (count > MAX_HAS_CIDS) throw protocolError('oversize', `has request for ${count} CIDs`)
      const cids: CID[] = []
      let offset = 3
      for (let i = 0; i < count; i++) {
        const [cid, next] = readCid(body, offset)
        cids.push(cid)
        offset = next
      }
      if (offset !== body.byteLength) throw protocolError('malformed', 'trailing bytes after has request')
      return { type: 'has-request', cids }
    }
    case MessageType.HasResponse: {
      if (body.byteLength < 3) throw protocolError('truncated', 'has response without count')
      const count = (body[1]! << 8) | body[2]!
      if (count > MAX_HAS_CIDS) throw protocolError('oversize', `has response for ${count} CIDs`)
      if (body.byteLength !== 3 + Math.ceil(count / 8)) throw protocolError('malformed', 'has response bitfield size')
      const present: boolean[] = []
      for (let i = 0; i < count; i++) present.push((body[3 + (i >> 3)]! & (1 << (i & 7))) !== 0)
      return { type: 'has-response', present }
    }
    default:
      throw protocolError('malformed', `unknown message type ${type}`)
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.byteLength
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}
