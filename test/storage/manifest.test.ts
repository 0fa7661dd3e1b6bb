import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { CairnError, InvalidManifestError, UnsupportedVersionError } from '../../src/errors.ts'
import { decodeManifest, encodeManifest, type Manifest } from '../../src/storage/index.ts'
import { decodeAll, encodeToMap, testData } from './pipeline-helpers.ts'

const S = 2048
const data = testData(2 * S + 10, 'text')
const file = await encodeToMap(data, { k: 2, n: 4, segmentSize: S, metadata: { name: 'a.txt' } })

const isManifestError = (e: unknown) => e instanceof InvalidManifestError || e instanceof UnsupportedVersionError

describe('manifest', () => {
  it('round-trips through DAG-CBOR and its CID', () => {
    const decoded = decodeManifest(file.manifestBytes, file.manifestCid)
    assert.deepEqual(decoded, file.manifest)
    const again = encodeManifest(decoded)
    assert.equal(again.cid.toString(), file.manifestCid.toString())
    assert.deepEqual(again.bytes, file.manifestBytes)
  })

  it('detects every single-byte corruption against its CID, naming the mismatch', () => {
    for (let i = 0; i < file.manifestBytes.byteLength; i++) {
      const bad = Uint8Array.from(file.manifestBytes)
      bad[i]! ^= 1 << (i % 8)
      assert.throws(
        () => decodeManifest(bad, file.manifestCid),
        (e: Error) =>
          e instanceof InvalidManifestError && /hash to \S+, not to \S+: truncated or altered/.test(e.message),
        `byte ${i}`,
      )
    }
  })

  it('never yields wrong bytes from a corrupted manifest, even without the CID check', async () => {
    for (let i = 0; i < file.manifestBytes.byteLength; i++) {
      const bad = Uint8Array.from(file.manifestBytes)
      bad[i]! ^= 0x10
      let manifest: Manifest
      try {
        manifest = decodeManifest(bad)
      } catch (e) {
        assert.ok(isManifestError(e), `byte ${i}: ${e}`)
        continue
      }
      try {
        assert.deepEqual(await decodeAll(manifest, file.key, file.pieces), data, `byte ${i} gave wrong bytes`)
      } catch (e) {
        assert.ok(e instanceof CairnError, `byte ${i}: ${e}`)
      }
    }
  })

  it('rejects every truncation as not valid DAG-CBOR', () => {
    for (let length = 0; length < file.manifestBytes.byteLength; length++) {
      assert.throws(() => decodeManifest(file.manifestBytes.subarray(0, length)), /the manifest is not valid DAG-CBOR/)
    }
  })

  it('rejects an unknown version and inconsistent fields with a clear message', () => {
    const value = dagCbor.decode(file.manifestBytes) as Record<string, unknown>
    const reencode = (change: Record<string, unknown>) => dagCbor.encode({ ...value, ...change })
    assert.throws(
      () => decodeManifest(reencode({ version: 3 })),
      (e: Error) =>
        e instanceof UnsupportedVersionError && /manifest format version 3 is not supported/.test(e.message),
    )
    // Version 1 had no ciphertextHash: refused, with the reason and the fix.
    const v1Segments = (value.segments as Array<Record<string, unknown>>).map(({ ciphertextHash: _h, ...rest }) => rest)
    assert.throws(
      () => decodeManifest(reencode({ version: 1, segments: v1Segments })),
      (e: Error) =>
        e instanceof UnsupportedVersionError &&
        /version 1 is not supported \(this Cairn reads version 2\): .*no per-segment ciphertext hash.*upload the file again/.test(
          e.message,
        ),
    )
    assert.throws(
      () => decodeManifest(reencode({ segments: v1Segments })),
      /segment 0 must have exactly size, flags, ciphertextHash and pieces/,
    )
    const shortHash = structuredClone(value.segments) as Array<Record<string, unknown>>
    shortHash[1]!.ciphertextHash = new Uint8Array(31)
    assert.throws(() => decodeManifest(reencode({ segments: shortHash })), /segment 1 ciphertextHash must be 32 bytes/)
    const { version: _, ...noVersion } = value
    assert.throws(() => decodeManifest(dagCbor.encode(noVersion)), /it has no version field/)
    assert.throws(() => decodeManifest(reencode({ size: data.byteLength + S })), /has 4 segments, the manifest lists 3/)
    assert.throws(() => decodeManifest(reencode({ n: 2 })), /n must be an integer in \[3, 255\]/)
    assert.throws(() => decodeManifest(reencode({ salt: new Uint8Array(3) })), /salt must be 16 bytes/)
    assert.throws(() => decodeManifest(reencode({ extra: 1 })), /unknown field 'extra'/)
    assert.throws(() => decodeManifest(dagCbor.encode([1, 2])), /the top level is not a map/)
    const slots = structuredClone(value.slots) as Array<{ size: number }>
    slots[1]!.size += 1
    assert.throws(() => decodeManifest(reencode({ slots })), /slot 1 size \d+ is not the sum of its pieces/)
  })

  it('never crashes on random or mutated input: it decodes or throws a manifest error (fuzz)', () => {
    const bytes = file.manifestBytes
    const mutated = fc
      .array(fc.tuple(fc.nat({ max: bytes.byteLength - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })
      .map((edits) => {
        const out = Uint8Array.from(bytes)
        for (const [at, value] of edits) out[at] = value
        return out
      })
    const value = dagCbor.decode(bytes) as Record<string, unknown>
    const structured = fc
      .record({ key: fc.constantFrom(...Object.keys(value)), replacement: fc.jsonValue() })
      .map(({ key, replacement }) => dagCbor.encode({ ...value, [key]: replacement }))
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }), mutated, structured), (input) => {
        try {
          decodeManifest(input)
        } catch (e) {
          assert.ok(isManifestError(e), `unexpected ${e}`)
        }
      }),
      { numRuns: 3000 },
    )
  })
})
