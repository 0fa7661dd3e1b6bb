/**
 * Sealed name records: a capability round-trips, and a value replayed under another sequence, name or owner, or
 * altered in any byte, is refused as a forged record. Names and values are checked with clear errors.
 */
import assert from 'node:assert/strict'
import { createDecipheriv, hkdfSync } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { type Address, getAddress } from 'viem'
import { nameIdOf } from '../../src/chain/index.ts'
import { checkName, checkNameValue, MAX_NAME_BYTES, openNameValue, sealNameValue } from '../../src/client/index.ts'
import { CorruptDataError, DecryptionError, InvalidArgumentError, InvalidCapabilityError } from '../../src/errors.ts'

const OWNER: Address = getAddress('0x70997970c51812dc3a010c7d01b50e0d17dc79c8')
const OTHER: Address = getAddress('0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc')
const CAPABILITY =
  'cairn:bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy#q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA'

function place(owner: Address, name: string, sequence: bigint) {
  return { owner, name, nameId: nameIdOf(owner, name), sequence }
}

describe('sealed name records', () => {
  test('a capability round-trips; the chain sees no name and no capability', () => {
    const where = place(OWNER, 'photos', 1n)
    const value = sealNameValue(where, CAPABILITY)
    assert.equal(openNameValue(where, value), CAPABILITY)
    assert.ok(value.byteLength < 200, `${value.byteLength} bytes`)
    const text = Buffer.from(value).toString('latin1')
    assert.ok(!text.includes('photos') && !text.includes('bafyrei'))
    // A fresh nonce each time: the same record sealed twice is two different values.
    assert.notDeepEqual(sealNameValue(where, CAPABILITY), value)
  })

  test('the format is the documented one: a record opened by hand with HKDF-SHA256 and AES-256-GCM', () => {
    const where = place(OWNER, 'photos', 3n)
    const value = sealNameValue(where, CAPABILITY)
    const ownerBytes = Buffer.from(OWNER.slice(2), 'hex')
    const key = Buffer.from(hkdfSync('sha256', Buffer.from('photos'), ownerBytes, 'cairn/v1/name', 32))
    const sequence = Buffer.alloc(8)
    sequence.writeBigUInt64BE(3n)
    const aad = Buffer.concat([
      Buffer.from('cairn/v1/name-record'),
      Buffer.of(1),
      ownerBytes,
      Buffer.from(where.nameId.slice(2), 'hex'),
      sequence,
    ])
    assert.equal(value[0], 1)
    const decipher = createDecipheriv('aes-256-gcm', key, value.subarray(1, 13))
    decipher.setAAD(aad)
    decipher.setAuthTag(value.subarray(value.byteLength - 16))
    const plain = Buffer.concat([decipher.update(value.subarray(13, value.byteLength - 16)), decipher.final()])
    assert.equal(plain.toString(), CAPABILITY)
  })

  test('replayed under another sequence, name or owner, or altered: "forged record"', () => {
    const where = place(OWNER, 'photos', 2n)
    const value = sealNameValue(where, CAPABILITY)
    for (const [label, other] of [
      ['another sequence', place(OWNER, 'photos', 3n)],
      ['another name', place(OWNER, 'photos2', 2n)],
      ['another owner', place(OTHER, 'photos', 2n)],
      ['the right name under another name ID', { ...where, nameId: nameIdOf(OTHER, 'photos') }],
    ] as const) {
      assert.throws(() => openNameValue(other, value), /forged record/, label)
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: value.byteLength - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const altered = Uint8Array.from(value)
        altered[at]! ^= flip
        assert.throws(() => openNameValue(where, altered), DecryptionError)
      }),
      { numRuns: 200 },
    )
    assert.throws(() => openNameValue(where, value.subarray(0, 20)), /forged record/)
  })

  test('a sealed record that holds no capability is corrupt data', () => {
    const where = place(OWNER, 'notes', 1n)
    // sealNameValue seals whatever text it is given; the opener checks it is a capability.
    const value = sealNameValue(where, 'hello, not a capability')
    assert.throws(() => openNameValue(where, value), CorruptDataError)
  })

  test('names: 1 to 255 UTF-8 bytes, no NUL, valid Unicode, compared in NFC', () => {
    assert.throws(() => checkName(''), /must not be empty/)
    assert.throws(() => checkName('a\0b'), /NUL/)
    assert.throws(() => checkName('x'.repeat(MAX_NAME_BYTES + 1)), /at most 255 bytes/)
    assert.throws(() => checkName('é'.repeat(128)), /this one has 256/)
    assert.throws(() => checkName('bad\uD800'), /lone surrogate/)
    assert.equal(checkName('x'.repeat(MAX_NAME_BYTES)).length, MAX_NAME_BYTES)
    assert.equal(checkName('cafe\u0301'), 'caf\u00e9')
    assert.throws(() => checkName(''), InvalidArgumentError)
  })

  test('values must be capabilities', () => {
    assert.equal(checkNameValue(` ${CAPABILITY}\n`), CAPABILITY)
    assert.throws(() => checkNameValue('https://example.org'), InvalidCapabilityError)
    assert.throws(() => checkNameValue('cairn:notacid'), /a name points to a capability/)
  })
})
