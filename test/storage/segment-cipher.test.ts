import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { CorruptDataError, DecryptionError } from '../../src/errors.ts'
import { compressSegment, decompressSegment, SEGMENT_COMPRESSED } from '../../src/storage/index.ts'
import { decryptSegment, deriveFileKeys, encryptSegment } from '../../src/storage/segment-cipher.ts'
import { testData } from './pipeline-helpers.ts'

const key = new Uint8Array(randomBytes(32))
const keys = deriveFileKeys(key, new Uint8Array(randomBytes(16)))
const plaintext = testData(300, 'text')

describe('segment encryption', () => {
  it('round-trips and detects every single-byte corruption of the ciphertext, naming the segment', () => {
    const sealed = encryptSegment(keys, 3, 1, false, plaintext)
    assert.deepEqual(decryptSegment(keys, 3, 1, false, sealed), plaintext)
    for (let i = 0; i < sealed.byteLength; i++) {
      const bad = Uint8Array.from(sealed)
      bad[i]! ^= 1 << (i % 8)
      assert.throws(
        () => decryptSegment(keys, 3, 1, false, bad),
        (e: Error) => {
          return e instanceof DecryptionError && /^segment 3 failed authentication/.test(e.message)
        },
      )
    }
    assert.throws(
      () => decryptSegment(keys, 3, 1, false, sealed.subarray(0, 10)),
      /shorter than its authentication tag/,
    )
  })

  it('binds index, flags, last-segment mark and file: moved, flipped, truncated or swapped segments fail', () => {
    const sealed = encryptSegment(keys, 5, 0, false, plaintext)
    assert.throws(() => decryptSegment(keys, 4, 0, false, sealed), DecryptionError, 'reordered')
    assert.throws(() => decryptSegment(keys, 5, 1, false, sealed), DecryptionError, 'flag flipped')
    assert.throws(() => decryptSegment(keys, 5, 0, true, sealed), DecryptionError, 'file cut after this segment')
    const otherFile = deriveFileKeys(key, new Uint8Array(randomBytes(16)))
    assert.throws(() => decryptSegment(otherFile, 5, 0, false, sealed), DecryptionError, 'same key, other file')
  })

  it('never reuses a nonce: same plaintext at two indexes, or in two files under one key, differs', () => {
    const a = encryptSegment(keys, 0, 0, false, plaintext)
    const b = encryptSegment(keys, 1, 0, false, plaintext)
    const otherFile = deriveFileKeys(key, new Uint8Array(randomBytes(16)))
    const c = encryptSegment(otherFile, 0, 0, false, plaintext)
    assert.notDeepEqual(a, b)
    assert.notDeepEqual(a, c)
    // With a reused nonce, XOR of two ciphertexts would equal XOR of the plaintexts (zero here).
    assert.ok(a.subarray(0, 300).some((x, i) => x !== c[i]))
  })

  it('pads after the tag without changing what decrypts', () => {
    const sealed = encryptSegment(keys, 0, 0, true, plaintext, 700)
    assert.equal(sealed.byteLength, 300 + 16 + 700)
    assert.ok(sealed.subarray(316).every((x) => x === 0))
    assert.deepEqual(decryptSegment(keys, 0, 0, true, sealed.subarray(0, 316)), plaintext)
  })
})

describe('segment compression', () => {
  it('compresses text, stores random data raw, and refuses output of the wrong length', () => {
    const text = testData(100_000, 'text')
    const packed = compressSegment(text, 3)
    assert.equal(packed.flags, SEGMENT_COMPRESSED)
    assert.ok(packed.bytes.byteLength < text.byteLength * 0.5)
    assert.deepEqual(decompressSegment(packed.bytes, packed.flags, text.byteLength, 0), text)
    const noise = new Uint8Array(randomBytes(100_000))
    const raw = compressSegment(noise, 3)
    assert.equal(raw.flags, 0)
    assert.equal(raw.bytes, noise)
    assert.throws(
      () => decompressSegment(packed.bytes, packed.flags, text.byteLength - 1, 7),
      (e: Error) => {
        return e instanceof CorruptDataError && /segment 7/.test(e.message)
      },
    )
    assert.throws(() => decompressSegment(noise, SEGMENT_COMPRESSED, 100_000, 2), /segment 2 does not decompress/)
  })
})
