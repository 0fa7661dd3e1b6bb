/**
 * Folders through the client (src/client/tree): a real folder walked, packed, stored through a client that keeps the
 * pack in memory, then restored exactly (contents, modes, mtimes to the microsecond, empty folders, unicode names), one
 * file read by a range; and hostile indexes (`..`, absolute, NUL, symlink tricks) that must write nothing outside
 * the target.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import type { Client, GetInit, PutInit } from '../../src/client/index.ts'
import { getTree, openTree, putTree, readTreeFile, restoreTree } from '../../src/client/index.ts'
import { ByteReader, TREE_MEDIA_TYPE, type TreeFileEntry, type TreeIndex } from '../../src/storage/index.ts'

/** A client holding what it is given in memory: `get` honours offset and length, in 1000-byte chunks. */
function memoryClient() {
  const stored = new Map<string, { bytes: Buffer; init: PutInit }>()
  const reads: Array<{ offset: number; length: number }> = []
  const client: Pick<Client, 'put' | 'get'> = {
    async put(source, init = {}) {
      const chunks: Uint8Array[] = []
      for await (const chunk of source) chunks.push(chunk)
      const bytes = Buffer.concat(chunks)
      const capability = `cairn:mem${stored.size}`
      stored.set(capability, { bytes, init })
      return { capability, manifestCid: `mem${stored.size}`, size: bytes.length, k: 1, n: 3, slots: [] }
    },
    async *get(capability: string, init: GetInit = {}) {
      const { bytes } = stored.get(capability)!
      const offset = init.offset ?? 0
      const length = init.length ?? bytes.length - offset
      reads.push({ offset, length })
      for (let at = offset; at < offset + length; at += 1000)
        yield bytes.subarray(at, Math.min(at + 1000, offset + length))
    },
  }
  return { client, stored, reads }
}

async function snapshot(root: string): Promise<Array<[string, string, number, number, string]>> {
  const out: Array<[string, string, number, number, string]> = []
  const visit = async (dir: string, prefix: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name)
      const info = await lstat(path, { bigint: true })
      const kind = info.isDirectory() ? 'dir' : 'file'
      // microseconds: what utimes can set through Node
      const mtimeUs = Number(info.mtimeNs / 1000n)
      const content = kind === 'file' ? (await readFile(path)).toString('hex') : ''
      out.push([`${prefix}${name}`, kind, Number(info.mode & 0o7777n), mtimeUs, content])
      if (kind === 'dir') await visit(path, `${prefix}${name}/`)
    }
  }
  await visit(root, '')
  return out
}

describe('folders through the client', () => {
  let work: string
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cairn-tree-'))
  })
  after(async () => {
    await rm(work, { recursive: true, force: true })
  })

  it('stores a folder as one pack and restores it exactly (diff -r, modes, mtimes, empty folders, unicode)', async () => {
    const source = join(work, 'source')
    await mkdir(join(source, 'nested/deeper/deepest'), { recursive: true })
    await mkdir(join(source, 'empty/also empty'), { recursive: true })
    await writeFile(join(source, 'nested/deeper/deepest/leaf.bin'), Buffer.alloc(5000, 7))
    await writeFile(join(source, 'ünïcödé ✓ 文件.txt'), 'unicode\n')
    await writeFile(join(source, 'empty-file'), '')
    await writeFile(join(source, 'run.sh'), '#!/bin/sh\necho hi\n')
    await chmod(join(source, 'run.sh'), 0o755)
    await writeFile(join(source, 'private'), 'secret')
    await chmod(join(source, 'private'), 0o600)
    for (let i = 0; i < 50; i++) await writeFile(join(source, 'nested', `tiny-${i}`), `file ${i}\n`)
    await utimes(join(source, 'private'), 1_000_000_000.5, 1_000_000_000.123456)
    await symlink('/etc/passwd', join(source, 'link-out'))
    await chmod(join(source, 'empty/also empty'), 0o555)
    await utimes(join(source, 'nested'), 1_500_000_000, 1_500_000_000.25)

    const { client, stored, reads } = memoryClient()
    const result = await putTree(client, source, { k: 1, n: 3 })
    assert.equal(result.files, 55)
    assert.equal(result.folders, 5)
    assert.deepEqual(result.skipped, [{ path: 'link-out', reason: 'symbolic link' }])
    assert.equal(stored.size, 1, 'one Cairn file for the whole tree')
    const put = stored.get(result.capability)!
    assert.equal(put.init.metadata?.type, TREE_MEDIA_TYPE)
    assert.equal(put.init.metadata?.name, 'source')

    const target = join(work, 'restored')
    await getTree(client, result.capability, target)
    await rm(join(source, 'link-out'))
    execFileSync('diff', ['-r', source, target])
    assert.deepEqual(await snapshot(target), await snapshot(source))
    assert.equal(((await lstat(target)).mode & 0o777).toString(8), ((await lstat(source)).mode & 0o777).toString(8))

    const tree = await openTree(client, result.capability)
    reads.length = 0
    const chunks: Uint8Array[] = []
    for await (const c of readTreeFile(client, result.capability, tree, 'nested/deeper/deepest/leaf.bin'))
      chunks.push(c)
    assert.deepEqual(Buffer.concat(chunks), Buffer.alloc(5000, 7))
    assert.deepEqual(reads, [
      {
        offset: tree.dataOffset + (tree.index.entries.find((e) => e.path.endsWith('leaf.bin')) as TreeFileEntry).offset,
        length: 5000,
      },
    ])
    await chmod(join(source, 'empty/also empty'), 0o755)
    await chmod(join(target, 'empty/also empty'), 0o755)
  })

  it('refuses a target that exists and is not empty, before writing anything', async () => {
    const { client } = memoryClient()
    const source = join(work, 'small')
    await mkdir(source)
    await writeFile(join(source, 'a'), 'a')
    const { capability } = await putTree(client, source)
    const target = join(work, 'taken')
    await mkdir(target)
    await writeFile(join(target, 'keep'), 'mine')
    await assert.rejects(getTree(client, capability, target), /already exists; get -r restores into a new/)
    assert.deepEqual(await readdir(target), ['keep'])
    await mkdir(join(work, 'empty-target'))
    await getTree(client, capability, join(work, 'empty-target'))
    assert.equal(await readFile(join(work, 'empty-target', 'a'), 'utf8'), 'a')
  })
})

describe('restoring a hostile tree writes nothing outside the target', () => {
  let work: string
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cairn-tree-hostile-'))
  })
  after(async () => {
    await rm(work, { recursive: true, force: true })
  })

  const file = (path: string, offset: number, size: number) => ({
    type: 'file' as const,
    path,
    mode: 0o644,
    mtime: 0,
    mtimeNs: 0,
    offset,
    size,
  })
  const root = { mode: 0o755, mtime: 0, mtimeNs: 0 }
  const readerOf = (bytes: string) =>
    new ByteReader(
      (async function* () {
        yield Buffer.from(bytes)
      })(),
    )

  for (const [name, path, why] of [
    ['../ escape', '../escaped', /climb out/],
    ['nested ../ escape', 'a/../../escaped', /climb out/],
    ['absolute path', `/tmp/escaped-${process.pid}`, /absolute/],
    ['NUL in a name', 'a\0b', /NUL/],
    ['empty name', 'a//b', /empty name/],
  ] as const) {
    it(name, async () => {
      const index = { version: 1, root, entries: [file('ok', 0, 2), file(path, 2, 4)] } as TreeIndex
      const target = join(work, `t-${name.replace(/\W/g, '')}`)
      await assert.rejects(restoreTree(index, readerOf('okEVIL'), target), why)
      assert.deepEqual(
        (await readdir(work)).filter((n) => n !== 'outside'),
        [],
        'no target, no temporary folder left',
      )
      await assert.rejects(lstat(join(work, 'escaped')))
      await assert.rejects(lstat(`/tmp/escaped-${process.pid}`))
    })
  }

  it('a decoded index is refused the same way (the bytes an attacker would send)', async () => {
    const bytes = dagCbor.encode({ version: 1, root, entries: [file('../x', 0, 1)] })
    const { decodeTreeIndex } = await import('../../src/storage/index.ts')
    assert.throws(() => decodeTreeIndex(bytes), /climb out/)
  })

  it('never follows a symlink planted in an empty target, nor writes through one as the target', async () => {
    const outside = join(work, 'outside')
    await mkdir(outside)
    const linkTarget = join(work, 'link-target')
    await symlink(outside, linkTarget)
    const index: TreeIndex = { version: 1, root, entries: [file('f', 0, 1)] }
    await assert.rejects(restoreTree(index, readerOf('x'), linkTarget), /already exists/)
    assert.deepEqual(await readdir(outside), [])
    await rm(linkTarget)
  })

  it('a pack whose data runs longer or shorter than its index is refused and leaves nothing', async () => {
    const index: TreeIndex = { version: 1, root, entries: [file('f', 0, 3)] }
    await assert.rejects(restoreTree(index, readerOf('abcd'), join(work, 'long')), /more bytes than its index/)
    await assert.rejects(
      restoreTree(index, readerOf('ab'), join(work, 'short')),
      /ended 1 bytes before the end of file f/,
    )
    assert.deepEqual(
      (await readdir(work)).filter((n) => n !== 'outside'),
      [],
    )
  })
})
