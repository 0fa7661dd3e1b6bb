/**
 * The S3 catalog kept through names (src/api/bucket-catalog.ts): how versions merge (two gateways applying each
 * other's changes in any order reach one catalog, a racing write is a version, never lost), how deletes win over older
 * writes, the bounds, the bucket list, the private names, and the stored encoding (round trip; bad bytes are refused
 * with a message naming the problem).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  addVersion,
  applyBucketChanges,
  applyObjectChanges,
  type BucketCatalog,
  bucketExists,
  type CatalogVersion,
  currentVersion,
  DELETE_MARKER_MS,
  decodeBucketList,
  decodeCatalog,
  deleteMarker,
  encodeBucketList,
  encodeCatalog,
  MAX_VERSIONS_PER_KEY,
  objectVersion,
  sameCatalog,
} from '../../src/api/bucket-catalog.ts'
import { catalogNames } from '../../src/api/bucket-catalog-names.ts'
import type { S3Object } from '../../src/api/gateway-database.ts'
import { CorruptDataError } from '../../src/errors.ts'

const object = (key: string, time: number, tag: string): S3Object => ({
  bucket: 'b',
  key,
  size: tag.length,
  etag: `"${tag}"`,
  contentType: 'text/plain',
  metadata: { tag },
  parts: [{ capability: `cairn:bafk${tag}#key`, size: tag.length }],
  lastModified: time,
})
const put = (key: string, time: number, tag: string) => ({ key, version: objectVersion(object(key, time, tag)) })
const empty = (): BucketCatalog => ({ keys: new Map() })

describe('S3 catalog: merging versions', () => {
  it('two racing writes of one key both end as versions, the later one current', () => {
    const a = put('k', 1000, 'from-a')
    const b = put('k', 1001, 'from-b')
    const merged = applyObjectChanges(applyObjectChanges(empty(), [a]), [b])
    assert.deepEqual(
      merged.keys.get('k')!.map((v) => v.metadata.tag),
      ['from-a', 'from-b'],
    )
    assert.equal(currentVersion(merged.keys.get('k'))?.metadata.tag, 'from-b')
  })

  it('is order-independent and idempotent (property)', () => {
    const change = fc
      .record({
        key: fc.constantFrom('a', 'b', 'c'),
        time: fc.integer({ min: 1, max: 50 }),
        tag: fc.string(),
        del: fc.boolean(),
      })
      .map(({ key, time, tag, del }) => (del ? { key, version: deleteMarker(key, time) } : put(key, time, tag)))
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), fc.array(change, { maxLength: 30 }), (mine, theirs) => {
        const now = 100
        const ab = applyObjectChanges(applyObjectChanges(empty(), mine, now), theirs, now)
        const ba = applyObjectChanges(applyObjectChanges(empty(), theirs, now), mine, now)
        assert.ok(sameCatalog(ab, ba))
        assert.ok(sameCatalog(applyObjectChanges(ab, [...mine, ...theirs], now), ab))
      }),
    )
  })

  it('a delete hides older versions, not a newer write flushed later by another gateway', () => {
    const older = put('k', 1000, 'old')
    const marker = { key: 'k', version: deleteMarker('k', 2000) }
    const newer = put('k', 3000, 'new')
    const deleted = applyObjectChanges(empty(), [marker, older], 2500)
    assert.equal(currentVersion(deleted.keys.get('k')), undefined)
    assert.deepEqual(deleted.keys.get('k')!.length, 1, 'only the marker stays')
    assert.equal(currentVersion(applyObjectChanges(deleted, [newer], 3500).keys.get('k'))?.metadata.tag, 'new')
  })

  it('keeps at most MAX_VERSIONS_PER_KEY versions, and drops old delete markers', () => {
    let versions: CatalogVersion[] = []
    for (let i = 0; i < MAX_VERSIONS_PER_KEY + 5; i++) versions = addVersion(versions, put('k', i, `v${i}`).version)
    assert.equal(versions.length, MAX_VERSIONS_PER_KEY)
    assert.equal(versions.at(-1)!.metadata.tag, `v${MAX_VERSIONS_PER_KEY + 4}`)
    const marked = applyObjectChanges(empty(), [{ key: 'gone', version: deleteMarker('gone', 5) }], 10)
    assert.ok(marked.keys.has('gone'))
    assert.ok(!applyObjectChanges(marked, [], 10 + DELETE_MARKER_MS).keys.has('gone'))
  })

  it('a bucket exists when created after it was last deleted', () => {
    let list = applyBucketChanges({ buckets: new Map() }, [{ kind: 'create', bucket: 'x', time: 10 }])
    assert.ok(bucketExists(list.buckets.get('x')))
    list = applyBucketChanges(list, [{ kind: 'delete', bucket: 'x', time: 20 }])
    assert.ok(!bucketExists(list.buckets.get('x')))
    // a create older than the delete (flushed late) does not bring it back; a newer one does
    assert.ok(!bucketExists(applyBucketChanges(list, [{ kind: 'create', bucket: 'x', time: 15 }]).buckets.get('x')))
    assert.ok(bucketExists(applyBucketChanges(list, [{ kind: 'create', bucket: 'x', time: 25 }]).buckets.get('x')))
  })
})

describe('S3 catalog: names and encoding', () => {
  it('names are private to the key: another key, another bucket, the list: all different', () => {
    const one = catalogNames(`0x${'11'.repeat(32)}`)
    const two = catalogNames(`0x${'22'.repeat(32)}`)
    assert.match(one.bucket('photos'), /^s3\/v1\/[0-9a-f]{64}$/)
    assert.equal(one.bucket('photos'), catalogNames(`0x${'11'.repeat(32)}`).bucket('photos'))
    const all = new Set([one.buckets, one.bucket('photos'), one.bucket('buckets'), two.buckets, two.bucket('photos')])
    assert.equal(all.size, 5)
  })

  it('round-trips a catalog and a bucket list byte-exact', () => {
    const catalog = applyObjectChanges(empty(), [
      put('a/b.txt', 5, 'x'),
      put('é', 6, 'y'),
      { key: 'z', version: deleteMarker('z', 7) },
    ])
    const bytes = encodeCatalog(catalog)
    assert.deepEqual(encodeCatalog(decodeCatalog(bytes)), bytes)
    const list = applyBucketChanges({ buckets: new Map() }, [
      { kind: 'create', bucket: 'one', time: 1 },
      { kind: 'delete', bucket: 'one', time: 2 },
    ])
    assert.deepEqual(encodeBucketList(decodeBucketList(encodeBucketList(list))), encodeBucketList(list))
  })

  it('refuses bytes that are not a catalog, naming the problem', () => {
    const bad: Array<[string, RegExp]> = [
      ['not json', /not UTF-8 JSON/],
      ['{"format":"other"}', /format is not cairn-s3-catalog\/v1/],
      ['{"format":"cairn-s3-catalog/v1","keys":{}}', /keys is not a list/],
      ['{"format":"cairn-s3-catalog/v1","keys":[["k",[{"id":"x"}]]]}', /version "x" has a missing or mistyped field/],
    ]
    for (const [text, message] of bad) {
      assert.throws(
        () => decodeCatalog(new TextEncoder().encode(text)),
        (error: unknown) => error instanceof CorruptDataError && message.test(error.message),
        text,
      )
    }
    assert.throws(
      () => decodeBucketList(new TextEncoder().encode('{"format":"cairn-s3-buckets/v1","buckets":[["x",{}]]}')),
      /bucket x has no valid times/,
    )
  })
})
