/**
 * One capability, one content: an uploader who knows the key must not be able to show different bytes to different
 * readers. Two forgeries, each built from honestly encrypted segments under the file's own key and salt:
 * - k = 1, n = 3: slot 2 lists the piece of another file (same key, salt, size), so it decrypts fine;
 * - k = 2, n = 3: slot 2 holds the parity of another ciphertext that shares data shard 0 with the real one, so
 *   slots {0, 1} and slots {0, 2} each decode to a validly authenticated segment, with different plaintexts.
 * Whatever pieces a reader happens to fetch, it must get the uploader's committed bytes or an error, never the others.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { CairnError, CorruptDataError } from '../../src/errors.ts'
import { decodeManifest, type Manifest, stopSegmentWorkers } from '../../src/storage/index.ts'
import { decodeAll, encodeToMap } from './pipeline-helpers.ts'

const S = 4096
const key = Uint8Array.from({ length: 32 }, (_, i) => 7 * i)
const salt = Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i)

function noise(size: number, label: string): Uint8Array {
  const out = new Uint8Array(size)
  for (let block = 0; block * 32 < size; block++) {
    const digest = createHash('sha256').update(`${label}/${block}`).digest()
    out.set(digest.subarray(0, Math.min(32, size - block * 32)), block * 32)
  }
  return out
}

/** What an attacker publishes: the manifest bytes (encoded directly, skipping any check of the encoder). */
function publish(manifest: Manifest): { bytes: Uint8Array; cid: CID } {
  const bytes = dagCbor.encode(manifest)
  const digest = createHash('sha256').update(bytes).digest()
  return { bytes, cid: CID.createV1(dagCbor.code, createDigest(0x12, digest)) }
}

type Outcome = { bytes: Uint8Array } | { error: unknown }

/** A reader that fetches slots in `order` (workers > 0 decodes in worker threads). */
async function read(
  published: { bytes: Uint8Array; cid: CID },
  pieces: Map<string, Uint8Array>,
  order: number[],
  workers = 0,
): Promise<Outcome> {
  try {
    const manifest = decodeManifest(published.bytes, published.cid)
    return { bytes: await decodeAll(manifest, key, pieces, {}, { slotOrder: order, workers }) }
  } catch (error) {
    return { error }
  }
}

function assertCommittedOrError(outcome: Outcome, intended: Uint8Array, other: Uint8Array, what: string) {
  if ('error' in outcome) {
    assert.ok(outcome.error instanceof CairnError, `${what}: ${outcome.error}`)
    return
  }
  assert.ok(!Buffer.from(outcome.bytes).equals(other), `${what}: the reader got the other bytes`)
  assert.deepEqual(outcome.bytes, intended, `${what}: wrong bytes`)
}

describe('one capability shows one content (finding 6)', () => {
  it('k = 1, n = 3: a slot holding another validly encrypted piece never reaches a reader', async () => {
    const intended = noise(S, 'intended')
    const other = noise(S, 'other')
    const a = await encodeToMap(intended, { k: 1, n: 3, segmentSize: S, key, salt, compressionLevel: 1 })
    const b = await encodeToMap(other, { k: 1, n: 3, segmentSize: S, key, salt, compressionLevel: 1 })
    assert.equal(a.manifest.segments[0]!.flags, 0)
    assert.equal(b.manifest.segments[0]!.size, a.manifest.segments[0]!.size)
    const forged = structuredClone(a.manifest)
    forged.segments[0]!.pieces[2] = b.manifest.segments[0]!.pieces[2]!
    forged.slots[2] = b.manifest.slots[2]!
    const pieces = new Map(a.pieces)
    pieces.set('0/2', b.pieces.get('0/2')!)
    const published = publish(forged)
    for (const order of [[0], [1], [2], [2, 0, 1]]) {
      assertCommittedOrError(await read(published, pieces, order), intended, other, `slots ${order}`)
      // A caller that hands decodeFile the manifest object without decodeManifest is not fooled either.
      const direct = await decodeAll(forged, key, pieces, {}, { slotOrder: order }).then(
        (bytes) => ({ bytes }),
        (error: unknown) => ({ error }),
      )
      assertCommittedOrError(direct, intended, other, `manifest object, slots ${order}`)
    }
  })

  it('k = 2, n = 3: an inconsistent parity shard never reaches a reader; the decoder retries other pieces', async () => {
    const intended = noise(S, 'intended')
    const other = Uint8Array.from(intended)
    other.set(noise(64, 'tail'), S - 64) // same first half: the same data shard 0 under the same key and nonce
    const a = await encodeToMap(intended, { k: 2, n: 3, segmentSize: S, key, salt, compressionLevel: 1 })
    const b = await encodeToMap(other, { k: 2, n: 3, segmentSize: S, key, salt, compressionLevel: 1 })
    assert.ok(a.manifest.segments[0]!.pieces[0]!.equals(b.manifest.segments[0]!.pieces[0]), 'shard 0 is shared')
    const forged = structuredClone(a.manifest)
    forged.segments[0]!.pieces[2] = b.manifest.segments[0]!.pieces[2]!
    forged.slots[2] = b.manifest.slots[2]!
    const pieces = new Map(a.pieces)
    pieces.set('0/2', b.pieces.get('0/2')!)
    const published = publish(forged)
    for (const workers of [0, 1]) {
      for (const order of [
        [0, 1],
        [0, 2],
        [2, 0],
        [1, 2],
      ]) {
        assertCommittedOrError(await read(published, pieces, order, workers), intended, other, `slots ${order}`)
      }
      // With every piece reachable, the committed bytes come back whatever the reader tried first.
      const retried = await read(published, pieces, [0, 2], workers)
      assert.ok('bytes' in retried, `the decoder should retry with slot 1: ${'error' in retried && retried.error}`)
      assert.deepEqual(retried.bytes, intended)
    }
    await stopSegmentWorkers()
  })

  it('k = 2, n = 3: with only the inconsistent pieces reachable, the error names the segment', async () => {
    const intended = noise(S, 'intended')
    const other = Uint8Array.from(intended)
    other.set(noise(64, 'tail'), S - 64)
    const a = await encodeToMap(intended, { k: 2, n: 3, segmentSize: S, key, salt, compressionLevel: 1 })
    const b = await encodeToMap(other, { k: 2, n: 3, segmentSize: S, key, salt, compressionLevel: 1 })
    const forged = structuredClone(a.manifest)
    forged.segments[0]!.pieces[2] = b.manifest.segments[0]!.pieces[2]!
    const pieces = new Map(a.pieces)
    pieces.set('0/2', b.pieces.get('0/2')!)
    pieces.delete('0/1')
    const outcome = await read(publish(forged), pieces, [0, 2])
    assert.ok('error' in outcome, 'slots 0 and 2 disagree with the manifest: no bytes')
    assert.ok(outcome.error instanceof CorruptDataError, `${outcome.error}`)
    assert.match(String((outcome.error as Error).message), /segment 0: .*does not match the manifest's ciphertextHash/)
  })
})
