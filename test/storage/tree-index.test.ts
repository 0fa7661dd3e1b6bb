/**
 * The tree format (src/storage/tree-index.ts): the index's rules, hostile paths refused with a message naming them,
 * the pack header, the streaming reader, and known answers (test/vectors/tree-format.json). A vector failure means
 * the bytes of a pack changed: if intended, bump TREE_INDEX_VERSION and rewrite the vectors with
 * `CAIRN_WRITE_TREE_VECTORS=1 npx node --test test/storage/tree-index.test.ts`.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import {
  ByteReader,
  checkTreePath,
  decodeTreeHeader,
  decodeTreeIndex,
  encodeFile,
  encodeTreeHeader,
  encodeTreeIndex,
  readTreeHead,
  splitTreeCapability,
  TREE_INDEX_VERSION,
  TREE_MEDIA_TYPE,
  type TreeIndex,
  treeListing,
} from '../../src/storage/index.ts'

const VECTORS_URL = new URL('../vectors/tree-format.json', import.meta.url)
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i)
const SALT = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i)
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const text = (s: string) => new TextEncoder().encode(s)

const ROOT = { mode: 0o755, mtime: 1_700_000_000, mtimeNs: 123_456_789 }
const times = (mode: number, mtime: number, mtimeNs = 0) => ({ mode, mtime, mtimeNs })

/** The vector trees: their index and their files' bytes (in entry order). */
function vectorTrees(): Array<{ name: string; index: TreeIndex; contents: Uint8Array[] }> {
  const hello = text('hello, tree\n')
  const accent = text('é\n')
  return [
    { name: 'empty folder', index: { version: 1, root: ROOT, entries: [] }, contents: [] },
    {
      name: 'nested, empty folder, unicode, empty file, modes',
      index: {
        version: 1,
        root: ROOT,
        entries: [
          { type: 'dir', path: 'a', ...times(0o750, 1_600_000_000, 5) },
          { type: 'dir', path: 'a/empty', ...times(0o700, 1_600_000_001) },
          { type: 'file', path: 'a/hello.txt', ...times(0o644, 1_600_000_002, 999_999_999), offset: 0, size: 12 },
          { type: 'file', path: 'run.sh', ...times(0o755, -1, 500), offset: 12, size: 0 },
          { type: 'file', path: 'ünï cödé ✓.txt', ...times(0o600, 1_700_000_003), offset: 12, size: 3 },
        ],
      },
      contents: [hello, new Uint8Array(0), accent],
    },
  ]
}

async function vectorCase(c: ReturnType<typeof vectorTrees>[number]) {
  const index = encodeTreeIndex(c.index)
  const pack = Buffer.concat([encodeTreeHeader(index.byteLength), index, ...c.contents])
  const { done, pieces } = encodeFile([pack], {
    k: 1,
    n: 3,
    segmentSize: 4096,
    key: KEY,
    salt: SALT,
    metadata: { name: 'tree', type: TREE_MEDIA_TYPE, mtime: 1_700_000_000_000 },
  })
  for await (const _ of pieces);
  const file = await done
  return {
    name: c.name,
    index: hex(index),
    pack: hex(pack),
    packSha256: createHash('sha256').update(pack).digest('hex'),
    manifestCid: file.manifestCid.toString(),
    capability: file.capability,
  }
}

describe('tree format', () => {
  it('known-answer vectors (test/vectors/tree-format.json)', async () => {
    const cases = await Promise.all(vectorTrees().map(vectorCase))
    const built = {
      description:
        "Cairn tree (pack) known answers: pack = 'CAIRNTRE' || u64be len(index) || index (DAG-CBOR) || file bytes in entry order; encodeFile(pack, { k: 1, n: 3, segmentSize: 4096, key: 00..1f, salt: a0..af, metadata: { name: 'tree', type: 'application/vnd.cairn.tree', mtime: 1700000000000 } }) gives manifestCid. See docs/protocol.md, Trees.",
      treeIndexVersion: TREE_INDEX_VERSION,
      cases,
    }
    if (process.env.CAIRN_WRITE_TREE_VECTORS === '1') writeFileSync(VECTORS_URL, `${JSON.stringify(built, null, 2)}\n`)
    const recorded = JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as typeof built
    assert.equal(recorded.treeIndexVersion, TREE_INDEX_VERSION)
    assert.deepEqual(cases, recorded.cases, 'the tree format changed (see the top of this test)')
    for (const [i, c] of recorded.cases.entries()) {
      assert.deepEqual(decodeTreeIndex(Buffer.from(c.index, 'hex')).index, vectorTrees()[i]!.index)
    }
  })

  it('reads the head of a pack from a stream of odd chunks and leaves the reader at the data', async () => {
    const c = vectorTrees()[1]!
    const index = encodeTreeIndex(c.index)
    const pack = Buffer.concat([encodeTreeHeader(index.byteLength), index, ...c.contents])
    const chunks = Array.from({ length: Math.ceil(pack.length / 7) }, (_, i) => pack.subarray(i * 7, i * 7 + 7))
    const reader = new ByteReader(
      (async function* () {
        yield* chunks
      })(),
    )
    const head = await readTreeHead(reader)
    assert.equal(head.dataSize, 15)
    assert.equal(head.dataOffset, 16 + index.byteLength)
    assert.deepEqual(Buffer.from(await reader.readExactly(15, 'data')), Buffer.concat(c.contents))
    assert.equal(await reader.atEnd(), true)
    assert.deepEqual(
      treeListing(head.index, 'a').map((e) => e.path),
      ['a/empty', 'a/hello.txt'],
    )
  })

  it('refuses a plain file with a message saying to use get without -r', async () => {
    await assert.rejects(
      readTreeHead(
        new ByteReader(
          (async function* () {
            yield text('just text')
          })(),
        ),
      ),
      /names a file, not a folder stored with `cairn put -r`/,
    )
    assert.throws(() => decodeTreeHeader(text('NOTATREE12345678')), /not a folder/)
    const huge = encodeTreeHeader(0)
    new DataView(huge.buffer).setBigUint64(8, 2n ** 40n)
    assert.throws(() => decodeTreeHeader(huge), /over the \d+ limit/)
  })

  for (const [path, why] of [
    ['../evil', /climb out/],
    ['a/../../evil', /climb out/],
    ['/etc/passwd', /absolute/],
    ['a\0b', /NUL/],
    ['', /empty/],
    ['a//b', /empty name/],
    ['a/', /empty name/],
    ['./a', /'\.'/],
    ['x'.repeat(256), /over 255 bytes/],
  ] as const) {
    it(`refuses the path ${JSON.stringify(path.slice(0, 20))}`, () => {
      assert.throws(() => checkTreePath(path), why)
      const index = {
        version: 1,
        root: ROOT,
        entries: [{ type: 'file', path, ...times(0o644, 0), offset: 0, size: 0 }],
      }
      assert.throws(() => decodeTreeIndex(dagCbor.encode(index)), why)
    })
  }

  it('refuses inconsistent indexes: duplicates, orphans, gaps, files as folders, unknown fields, new versions', () => {
    const file = (path: string, offset = 0, size = 0) => ({ type: 'file', path, ...times(0o644, 0), offset, size })
    const dir = (path: string) => ({ type: 'dir', path, ...times(0o755, 0) })
    const bad = (entries: unknown[], why: RegExp, extra: Record<string, unknown> = {}) =>
      assert.throws(() => decodeTreeIndex(dagCbor.encode({ version: 1, root: ROOT, entries, ...extra })), why)
    bad([file('a'), file('a')], /appears twice/)
    bad([file('a/b')], /comes before its folder/)
    bad([file('a'), file('a/b')], /comes before its folder/)
    bad([file('a', 0, 5), file('b', 4, 1)], /not where the previous file ends/)
    bad([{ ...dir('a'), size: 3 }], /exactly type, path, mode, mtime, mtimeNs/)
    bad([{ ...file('a'), mode: 0o10000 }], /mode must be an integer/)
    bad([{ ...dir('a'), type: 'link' }], /type must be "file" or "dir"/)
    bad([], /exactly version, root, entries/, { extra: 1 })
    assert.throws(() => decodeTreeIndex(dagCbor.encode({ version: 2, root: ROOT, entries: [] })), /version 2 is not/)
    assert.throws(() => decodeTreeIndex(text('garbage')), /not valid DAG-CBOR/)
  })

  it('splits a capability from a path in the tree', () => {
    const cap = 'cairn:bafyreiabc#AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8'
    assert.deepEqual(splitTreeCapability(cap), { capability: cap, path: '' })
    assert.deepEqual(splitTreeCapability(`${cap}/`), { capability: cap, path: '' })
    assert.deepEqual(splitTreeCapability(`${cap}/docs/ü.txt`), { capability: cap, path: 'docs/ü.txt' })
    assert.throws(() => splitTreeCapability(`${cap}/../x`), /climb out/)
  })

  it('round-trips any valid index (property)', () => {
    const name = fc.stringMatching(/^[^/\0]{1,12}$/).filter((s) => s !== '.' && s !== '..')
    fc.assert(
      fc.property(fc.uniqueArray(name, { maxLength: 8 }), fc.array(fc.nat(1000), { maxLength: 8 }), (names, sizes) => {
        let offset = 0
        const entries = names.map((path, i) => {
          const size = sizes[i] ?? 0
          const entry = { type: 'file' as const, path, ...times(0o640, i * 1000, i), offset, size }
          offset += size
          return entry
        })
        const index: TreeIndex = { version: 1, root: ROOT, entries }
        const decoded = decodeTreeIndex(encodeTreeIndex(index))
        assert.deepEqual(decoded.index, index)
        assert.equal(decoded.dataSize, offset)
      }),
    )
  })
})
