/**
 * Known answers for the file format: test/vectors/file-format.json. Each case is re-encoded from its fixed key, salt
 * and input bytes and must give exactly the recorded manifest CID, capability, piece CIDs and slot roots, then decode
 * back to its input (also from the last k slots only, so the erasure code is exercised). A failure here means the
 * bytes Cairn writes changed: if that is intended, bump MANIFEST_VERSION when old files no longer decode and rerun
 * `npx node scripts/generate-file-format-vectors.ts`.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import {
  VECTOR_KEY,
  VECTOR_SALT,
  VECTOR_SEGMENT_SIZE,
  type VectorCaseInput,
  vectorInput,
} from '../../scripts/generate-file-format-vectors.ts'
import {
  decodeManifest,
  decryptMetadata,
  encodeFile,
  MANIFEST_VERSION,
  parseCapability,
  pieceCid,
} from '../../src/storage/index.ts'
import { decodeAll } from './pipeline-helpers.ts'

interface VectorCase extends VectorCaseInput {
  inputSha256: string
  capability: string
  manifestCid: string
  manifestSize: number
  keyCheck: string
  segments: Array<{ size: number; flags: number; ciphertextHash: string; pieces: string[] }>
  slots: Array<{ root: string; size: number }>
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/file-format.json', import.meta.url), 'utf8')) as {
  manifestVersion: number
  key: string
  salt: string
  segmentSize: number
  cases: VectorCase[]
}

const CHANGED = 'the file format changed (see the top of this test for what to do if that is intended)'
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('file format known-answer vectors (test/vectors/file-format.json)', () => {
  it('are for this manifest version, key, salt and segment size', () => {
    assert.equal(vectors.manifestVersion, MANIFEST_VERSION, CHANGED)
    assert.equal(vectors.key, hex(VECTOR_KEY))
    assert.equal(vectors.salt, hex(VECTOR_SALT))
    assert.equal(vectors.segmentSize, VECTOR_SEGMENT_SIZE)
    assert.ok(vectors.cases.length >= 10)
  })

  for (const c of vectors.cases) {
    it(`${c.name}: encodes to the recorded CIDs and decodes back`, async () => {
      const data = vectorInput(c.size, c.input)
      assert.equal(createHash('sha256').update(data).digest('hex'), c.inputSha256, 'the input generator changed')

      const { pieces, done } = encodeFile([data], {
        k: c.k,
        n: c.n,
        segmentSize: vectors.segmentSize,
        key: Buffer.from(vectors.key, 'hex'),
        salt: Buffer.from(vectors.salt, 'hex'),
        ...(c.metadata === undefined ? {} : { metadata: c.metadata }),
      })
      const stored = new Map<string, Uint8Array>()
      for await (const piece of pieces) {
        const recorded = c.segments[piece.segment]?.pieces[piece.slot]
        assert.equal(piece.cid.toString(), recorded, `segment ${piece.segment} slot ${piece.slot}: ${CHANGED}`)
        assert.equal(pieceCid(piece.bytes).toString(), recorded, `piece bytes do not hash to their CID`)
        stored.set(`${piece.segment}/${piece.slot}`, Uint8Array.from(piece.bytes))
      }
      const file = await done

      assert.equal(file.manifestCid.toString(), c.manifestCid, CHANGED)
      assert.equal(file.capability, c.capability, CHANGED)
      assert.equal(file.manifestBytes.byteLength, c.manifestSize, CHANGED)
      assert.equal(hex(file.manifest.keyCheck), c.keyCheck, CHANGED)
      assert.deepEqual(
        file.manifest.segments.map((s) => ({
          size: s.size,
          flags: s.flags,
          ciphertextHash: hex(s.ciphertextHash),
          pieces: s.pieces.map(String),
        })),
        c.segments,
        CHANGED,
      )
      assert.deepEqual(
        file.manifest.slots.map((s) => ({ root: hex(s.root), size: s.size })),
        c.slots,
        CHANGED,
      )
      assert.equal(stored.size, c.segments.length * c.n, 'every piece was produced')

      // The recorded capability alone opens the file.
      const { manifestCid, key } = parseCapability(c.capability)
      assert.ok(key !== undefined)
      const manifest = decodeManifest(file.manifestBytes, manifestCid)
      assert.deepEqual(decryptMetadata(manifest, key), c.metadata ?? {})
      assert.deepEqual(await decodeAll(manifest, key, stored), data)
      const lastK = new Set(Array.from({ length: c.n - c.k }, (_, slot) => slot))
      assert.deepEqual(await decodeAll(manifest, key, stored, { missing: () => lastK }), data, 'from the last k slots')
    })
  }
})
