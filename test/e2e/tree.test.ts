/**
 * End to end: folders on a real devnet (4 node processes, a gateway process), driven through the `cairn` CLI. A tree
 * with nested and empty folders, unicode names, modes, mtimes, a multi-segment file and 10,000 tiny files is stored
 * with `put -r` as one file, listed with `ls CAP`, restored with `get -r` (`diff -r` equal, modes and mtimes too),
 * read one file at a time, and served by the gateway; a hostile pack (`../`, absolute, NUL names) writes nothing.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { encodeTreeHeader } from '../../src/storage/index.ts'
import { type DevnetCli, type DevnetWithGateway, devnetCli, startDevnetWithGateway } from './devnet-fixture.ts'

const TINY_FILES = 10_000

/** Path, kind, permission bits and mtime (µs) of everything under `root`, sorted. */
async function shape(root: string): Promise<string[]> {
  const out: string[] = []
  const visit = async (dir: string, prefix: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const info = await lstat(join(dir, name), { bigint: true })
      out.push(
        `${prefix}${name} ${info.isDirectory() ? 'd' : 'f'} ${(info.mode & 0o7777n).toString(8)} ${info.mtimeNs / 1000n}`,
      )
      if (info.isDirectory()) await visit(join(dir, name), `${prefix}${name}/`)
    }
  }
  await visit(root, '')
  return out
}

describe('folders on the devnet (put -r, ls, get -r, get CAP/path, gateway)', { timeout: 600_000 }, () => {
  let devnet: DevnetWithGateway
  let cli: DevnetCli
  let work: string
  let source: string
  let capability: string
  const big = randomBytes(9 * 1024 * 1024 + 123)

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cairn-e2e-tree-'))
    source = join(work, 'projekt ü')
    await mkdir(join(source, 'a/b/c/d'), { recursive: true })
    await mkdir(join(source, 'empty/nested empty'), { recursive: true })
    await mkdir(join(source, 'tiny'))
    await writeFile(join(source, 'a/b/c/d/big.bin'), big)
    await writeFile(join(source, 'Ünïcödé ✓ 文件 🎉.txt'), 'unicode names survive\n')
    await writeFile(join(source, 'run.sh'), '#!/bin/sh\necho hi\n')
    await chmod(join(source, 'run.sh'), 0o750)
    await writeFile(join(source, 'empty-file'), '')
    for (let d = 0; d < 100; d++) {
      await mkdir(join(source, 'tiny', `d${d}`))
      await Promise.all(
        Array.from({ length: TINY_FILES / 100 }, (_, f) =>
          writeFile(join(source, 'tiny', `d${d}`, `f${f}.txt`), `tiny ${d}/${f}\n`),
        ),
      )
    }
    await utimes(join(source, 'run.sh'), 1_234_567_890.5, 1_234_567_890.654321)
    await chmod(join(source, 'empty/nested empty'), 0o700)
    await utimes(join(source, 'a'), 1_000_000_000, 1_000_000_000)
    devnet = await startDevnetWithGateway({ nodes: 4 })
    cli = devnetCli(devnet.dir, { timeoutMs: 180_000 })
  })

  after(async () => {
    await devnet?.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('put -r stores the tree as one file', async () => {
    const started = Date.now()
    const put = await cli.json<{ capability: string; files: number; folders: number; bytes: number }>([
      'put',
      '-r',
      source,
      '--k',
      '2',
      '--n',
      '3',
      '--json',
    ])
    process.stderr.write(`put -r of ${put.files} files: ${Date.now() - started} ms\n`)
    assert.equal(put.files, TINY_FILES + 4)
    assert.equal(put.folders, 4 + 2 + 1 + 100)
    capability = put.capability
    const records = await cli.json<Array<{ name?: string; capability: string }>>(['ls', '--json'])
    assert.deepEqual(
      records.map((r) => [r.name, r.capability]),
      [['projekt ü', capability]],
      'one record for the whole tree',
    )
  })

  it('ls CAP lists the tree, ls CAP/path a folder of it', async () => {
    const all = await cli.json<{ entries: Array<{ path: string; type: string }> }>(['ls', capability, '--json'])
    assert.equal(all.entries.length, TINY_FILES + 4 + 107)
    const text = await cli.ok(['ls', `${capability}/a`])
    assert.match(text, /drwx.* a\/b\/c\/d\/\n/)
    assert.match(text, /-rw.*9\.\d+ MB.* a\/b\/c\/d\/big\.bin/)
    const missing = await cli.run(['ls', `${capability}/nope`])
    assert.notEqual(missing.code, 0)
    assert.match(missing.stderr, /the tree has no file or folder 'nope'/)
  })

  it('get -r restores it exactly: diff -r, modes, mtimes, empty folders', async () => {
    const target = join(work, 'restored')
    const started = Date.now()
    await cli.ok(['get', '-r', capability, '-o', target])
    process.stderr.write(`get -r of ${TINY_FILES + 4} files: ${Date.now() - started} ms\n`)
    execFileSync('diff', ['-r', source, target])
    assert.deepEqual(await shape(target), await shape(source))
    const again = await cli.run(['get', '-r', capability, '-o', target])
    assert.equal(again.code, 2)
    assert.match(again.stderr, /already exists; get -r restores into a new \(or empty\) folder/)
  })

  it('get CAP/path reads one file alone', async () => {
    const { bytes } = await cli.getBytes(`${capability}/a/b/c/d/big.bin`)
    assert.ok(bytes.equals(big))
    const tiny = await cli.run(['get', `${capability}/tiny/d42/f7.txt`])
    assert.equal(tiny.code, 0, tiny.stderr)
    assert.equal(tiny.stdout.toString(), 'tiny 42/7\n')
    const folder = await cli.run(['get', `${capability}/tiny`])
    assert.equal(folder.code, 2)
    assert.match(folder.stderr, /'tiny' is a folder of the tree, not a file/)
  })

  it('the gateway lists a folder and serves a file of the tree', async () => {
    const base = `${devnet.url}/api/v1/files/${encodeURIComponent(capability)}`
    const headers = { authorization: `Bearer ${devnet.token}` }
    const root = await fetch(`${base}/`, { headers })
    assert.equal(root.status, 200)
    const listing = (await root.json()) as { entries: Array<{ name: string; type: string }> }
    assert.deepEqual(
      listing.entries.map((e) => `${e.type}:${e.name}`),
      ['dir:a', 'dir:empty', 'file:empty-file', 'file:run.sh', 'dir:tiny', 'file:Ünïcödé ✓ 文件 🎉.txt'],
    )
    const file = await fetch(`${base}/${encodeURIComponent('Ünïcödé ✓ 文件 🎉.txt')}`, { headers })
    assert.equal(file.status, 200)
    assert.equal(await file.text(), 'unicode names survive\n')
    const range = await fetch(`${base}/a/b/c/d/big.bin`, { headers: { ...headers, range: 'bytes=5000000-5000099' } })
    assert.equal(range.status, 206)
    assert.ok(Buffer.from(await range.arrayBuffer()).equals(big.subarray(5_000_000, 5_000_100)))
    const missing = await fetch(`${base}/no/such`, { headers })
    assert.equal(missing.status, 404)
    const unauthorized = await fetch(`${base}/`)
    assert.equal(unauthorized.status, 401)
  })

  it('a hostile pack (../, absolute, NUL names) is refused by get -r and writes nothing', async () => {
    const entry = (path: string, offset: number) => ({
      type: 'file',
      path,
      mode: 0o644,
      mtime: 0,
      mtimeNs: 0,
      offset,
      size: 4,
    })
    const root = { mode: 0o755, mtime: 0, mtimeNs: 0 }
    const landing = join(work, 'landing')
    await mkdir(landing)
    for (const path of ['../escaped', `${work}/escaped-abs`, 'ok\0../escaped']) {
      const index = dagCbor.encode({ version: 1, root, entries: [entry('fine', 0), entry(path, 4)] })
      const pack = Buffer.concat([encodeTreeHeader(index.byteLength), index, Buffer.from('goodEVIL')])
      const put = await cli.run(['put', '-', '--json'], pack)
      assert.equal(put.code, 0, put.stderr)
      const { capability: hostile } = JSON.parse(put.stdout.toString()) as { capability: string }
      const got = await cli.run(['get', '-r', hostile, '-o', join(landing, 'out')])
      assert.equal(got.code, 5, got.stderr)
      assert.match(got.stderr, /^error: invalid tree index: entry 1 path .*(climb out|absolute|NUL)/)
      assert.deepEqual(await readdir(landing), [], 'nothing restored, no temporary folder left')
      await assert.rejects(lstat(join(work, 'escaped')))
      await assert.rejects(lstat(join(work, 'escaped-abs')))
    }
  })
})
