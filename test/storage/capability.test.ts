import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { InvalidCapabilityError } from '../../src/errors.ts'
import { formatCapability, parseCapability } from '../../src/storage/index.ts'

const vectors = JSON.parse(readFileSync(new URL('./capability-vectors.json', import.meta.url), 'utf8')) as {
  valid: Array<{ text: string; manifestCid: string; key: string | null }>
  parsesWithWhitespace: string[]
  invalid: Array<{ text: string; error: string }>
}

describe('capability', () => {
  it('formats and parses the known-answer vectors', () => {
    for (const v of vectors.valid) {
      const manifestCid = CID.parse(v.manifestCid)
      const key = v.key === null ? undefined : Uint8Array.from(Buffer.from(v.key, 'hex'))
      assert.equal(formatCapability(key === undefined ? { manifestCid } : { manifestCid, key }), v.text)
      const parsed = parseCapability(v.text)
      assert.equal(parsed.manifestCid.toString(), v.manifestCid)
      assert.deepEqual(parsed.key, key)
    }
    for (const text of vectors.parsesWithWhitespace) assert.ok(parseCapability(text).key)
  })

  it('says what is wrong with each malformed capability', () => {
    for (const v of vectors.invalid) {
      assert.throws(
        () => parseCapability(v.text),
        (e: Error) => {
          assert.ok(e instanceof InvalidCapabilityError, `${v.text}: ${e}`)
          assert.equal((e as InvalidCapabilityError).code, 'ERR_INVALID_CAPABILITY')
          assert.ok(e.message.includes(v.error), `'${v.text}' gave '${e.message}', expected it to say '${v.error}'`)
          return true
        },
      )
    }
    assert.throws(() => parseCapability(42 as unknown as string), InvalidCapabilityError)
  })

  it('a mangled manifest CID is explained in terms of the capability, not of a decoder library', () => {
    for (const text of ['cairn:nonsense', 'cairn:bafyfoo#abc', 'cairn:Qm#x']) {
      assert.throws(
        () => parseCapability(text),
        (err: Error) =>
          err instanceof InvalidCapabilityError &&
          /copied whole/.test(err.message) &&
          !/multibase|decoder|Unexpected end/i.test(err.message),
      )
    }
  })

  it('round-trips any manifest CID and key (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 })),
        (digest, key) => {
          const manifestCid = CID.createV1(0x71, createDigest(0x12, digest))
          const text = formatCapability(key === null ? { manifestCid } : { manifestCid, key })
          const parsed = parseCapability(text)
          assert.equal(parsed.manifestCid.toString(), manifestCid.toString())
          assert.deepEqual(parsed.key, key ?? undefined)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('never crashes on arbitrary or mutated text: it parses or throws InvalidCapabilityError (fuzz)', () => {
    const valid = vectors.valid[0]!.text
    const mutated = fc
      .tuple(fc.nat({ max: valid.length }), fc.nat({ max: valid.length }), fc.string({ maxLength: 4 }))
      .map(([at, cut, insert]) => valid.slice(0, at) + insert + valid.slice(Math.min(valid.length, at + (cut % 3))))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          mutated,
          fc.string().map((s) => `cairn:${s}`),
        ),
        (text) => {
          try {
            const parsed = parseCapability(text)
            assert.equal(parsed.manifestCid.code, 0x71)
            if (parsed.key !== undefined) assert.equal(parsed.key.byteLength, 32)
          } catch (e) {
            assert.ok(e instanceof InvalidCapabilityError, `unexpected ${e}`)
          }
        },
      ),
      { numRuns: 3000 },
    )
  })
})
