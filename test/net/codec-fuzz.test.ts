import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { ProtocolError } from '../../src/errors.ts'
import { encodeFrameHeader } from '../../src/net/frame-codec.ts'
import {
  decodeHeartbeat,
  decodePieceMessage,
  encodeFrame,
  encodeHeartbeat,
  encodePieceMessage,
  FrameReader,
  MAX_CONTROL_FRAME_SIZE,
  MAX_HAS_CIDS,
  MAX_PIECE_FRAME_SIZE,
  type PieceMessage,
} from '../../src/net/index.ts'
import { pieceCid } from '../../src/storage/index.ts'

async function* chunksOf(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0
  let i = 0
  while (offset < bytes.byteLength) {
    const size = Math.max(1, sizes[i++ % Math.max(1, sizes.length)] ?? bytes.byteLength)
    yield bytes.subarray(offset, offset + size)
    offset += size
  }
}

function assertProtocolError(error: unknown): true {
  assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`)
  assert.equal(error.code, 'ERR_PROTOCOL')
  return true
}

const cidArb = fc.uint8Array({ minLength: 0, maxLength: 64 }).map((b) => pieceCid(b))
const messageArb: fc.Arbitrary<PieceMessage> = fc.oneof(
  fc.record({ type: fc.constant('store-request' as const), cid: cidArb, bytes: fc.uint8Array({ maxLength: 2048 }) }),
  fc.record({
    type: fc.constant('store-response' as const),
    status: fc.constantFrom(0, 1, 2, 3, 4, 5, 6) as fc.Arbitrary<0 | 1 | 2 | 3 | 4 | 5 | 6>,
    message: fc.string({ maxLength: 100 }),
  }),
  fc.record({ type: fc.constant('fetch-request' as const), cid: cidArb }),
  fc.record({
    type: fc.constant('fetch-response' as const),
    status: fc.constant(0 as const),
    bytes: fc.uint8Array({ maxLength: 2048 }),
    message: fc.constant(''),
  }),
  fc.record({ type: fc.constant('has-request' as const), cids: fc.array(cidArb, { maxLength: 40 }) }),
  fc.record({ type: fc.constant('has-response' as const), present: fc.array(fc.boolean(), { maxLength: 300 }) }),
)

function normalize(message: PieceMessage): unknown {
  return JSON.parse(
    JSON.stringify(message, (_key, value) =>
      value instanceof Uint8Array
        ? Buffer.from(value).toString('hex')
        : value?.['/'] !== undefined
          ? String(value)
          : value,
    ),
  )
}

describe('piece message codec', () => {
  test('every message round-trips', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        assert.deepEqual(normalize(decodePieceMessage(encodePieceMessage(message))), normalize(message))
      }),
      { numRuns: 500 },
    )
  })

  test('random bytes decode or throw ProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          decodePieceMessage(bytes)
        } catch (error) {
          assertProtocolError(error)
        }
      }),
      { numRuns: 3000 },
    )
  })

  test('every truncation and single-byte mutation of a valid message throws only ProtocolError', () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.nat(255), (message, position, value) => {
        const body = encodePieceMessage(message)
        for (const variant of [body.subarray(0, position % (body.byteLength + 1)), mutate(body, position, value)]) {
          try {
            decodePieceMessage(variant)
          } catch (error) {
            assertProtocolError(error)
          }
        }
      }),
      { numRuns: 1000 },
    )
  })

  test('a has-request announcing more than the CID limit is refused before it is parsed', () => {
    const body = Uint8Array.of(0x05, 0xff, 0xff)
    assert.throws(() => decodePieceMessage(body), /65535 CIDs/)
    assert.throws(
      () =>
        encodePieceMessage({ type: 'has-request', cids: Array(MAX_HAS_CIDS + 1).fill(pieceCid(new Uint8Array(1))) }),
      ProtocolError,
    )
  })
})

function mutate(bytes: Uint8Array, position: number, value: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  if (copy.byteLength > 0) copy[position % copy.byteLength] = value
  return copy
}

describe('frame reader', () => {
  test('frames split into arbitrary chunks come back whole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 10 }),
        async (bodies, sizes) => {
          const wire = Buffer.concat(bodies.map((b) => encodeFrame(b)))
          const reader = new FrameReader(chunksOf(wire, sizes))
          for (const body of bodies) assert.deepEqual(await reader.read({ maxLength: 4096 }), body)
          assert.equal(await reader.read({ maxLength: 4096 }), undefined)
        },
      ),
      { numRuns: 300 },
    )
  })

  test('random bytes on the wire yield frames or ProtocolError, never a crash or a frame above the cap', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 64 }), async (wire, size) => {
        const reader = new FrameReader(chunksOf(wire, [size]))
        try {
          for (;;) {
            const body = await reader.read({ maxLength: 512 })
            if (body === undefined) break
            assert.ok(body.byteLength <= 512)
          }
        } catch (error) {
          assertProtocolError(error)
        }
      }),
      { numRuns: 1000 },
    )
  })

  test('an oversize length prefix is refused before anything is allocated', async () => {
    for (const announced of [MAX_PIECE_FRAME_SIZE + 1, 0x7fffffff, 0xffffffff]) {
      const before = process.memoryUsage().arrayBuffers
      let reserved = false
      const reader = new FrameReader(chunksOf(encodeFrameHeader(announced), [4]))
      await assert.rejects(
        reader.read({
          maxLength: MAX_PIECE_FRAME_SIZE,
          reserve: () => {
            reserved = true
          },
        }),
        (error: unknown) => assertProtocolError(error) && (error as ProtocolError).details?.reason === 'oversize',
      )
      assert.equal(reserved, false, 'the reservation hook runs only after the cap check')
      assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024, 'no buffer of the announced size')
    }
  })

  test('a frame cut short is a ProtocolError (truncated), a clean end between frames is not', async () => {
    const frame = encodeFrame(randomBytes(100))
    for (let cut = 1; cut < frame.byteLength; cut += 7) {
      const reader = new FrameReader(chunksOf(frame.subarray(0, cut), [13]))
      await assert.rejects(reader.read({ maxLength: MAX_CONTROL_FRAME_SIZE }), (error: unknown) => {
        return assertProtocolError(error) && (error as ProtocolError).details?.reason === 'truncated'
      })
    }
    assert.equal(await new FrameReader(chunksOf(new Uint8Array(0), [])).read({ maxLength: 10 }), undefined)
  })
})

describe('heartbeat codec', async () => {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  const valid = await encodeHeartbeat(
    {
      peerId,
      bootId: '0123456789abcdef',
      sequence: 1_764_000,
      intervalMs: 2000,
      storage: true,
      freeSpace: 123_456_789,
      version: '0.1.0',
    },
    key,
  )

  test('round-trips and verifies its signature', async () => {
    assert.deepEqual(await decodeHeartbeat(valid), {
      peerId,
      bootId: '0123456789abcdef',
      sequence: 1_764_000,
      intervalMs: 2000,
      storage: true,
      freeSpace: 123_456_789,
      version: '0.1.0',
    })
  })

  test('any altered byte, truncation or random input throws ProtocolError', async () => {
    for (let i = 0; i < valid.byteLength; i++) {
      const copy = Uint8Array.from(valid)
      copy[i] = copy[i]! ^ 0x01
      await assert.rejects(decodeHeartbeat(copy), assertProtocolError)
      await assert.rejects(decodeHeartbeat(valid.subarray(0, i)), assertProtocolError)
    }
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1500 }), async (bytes) => {
        await assert.rejects(decodeHeartbeat(bytes), assertProtocolError)
      }),
      { numRuns: 500 },
    )
  })

  test('a heartbeat signed by another key than its peer ID claims is refused', async () => {
    const other = await generateKeyPair('Ed25519')
    const forged = await encodeHeartbeat(
      { peerId, bootId: '0000000000000001', sequence: 1, intervalMs: 1000, storage: true, version: 'x' },
      other,
    )
    await assert.rejects(decodeHeartbeat(forged), /signature does not verify/)
  })
})
