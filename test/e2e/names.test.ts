/**
 * End to end, on a devnet with its chain (3 node processes): `cairn name publish` points a name to a capability,
 * `cairn name resolve` gives it back and `cairn get` of it gives the bytes; publishing again moves the name and
 * `cairn name history` lists both records; two concurrent publishes of one next sequence: exactly one wins, the
 * other gets the conflict error; another owner's record of the same name is its own, and a name never published is
 * a clear error. (Bad input without a chain: test/cli/name-command.test.ts.)
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { privateKeyToAccount } from 'viem/accounts'
import { devnetPrivateKeys } from '../../src/chain/index.ts'
import type { NameEntry, PublishedName } from '../../src/client/index.ts'
import type { DevnetState } from '../../src/devnet/index.ts'
import { type DevnetCli, devnetCli, type LongRunning, startCairn } from './devnet-fixture.ts'

describe('names on a devnet with its chain', { timeout: 900_000 }, () => {
  let dir: string
  let devnet: LongRunning | undefined
  let cli: DevnetCli
  let user: `0x${string}`
  /** A second wallet (a devnet account no node uses): another owner. */
  let otherKeyFile: string
  let other: `0x${string}`
  const files: Record<'first' | 'second', { bytes: Buffer; capability: string }> = {} as never

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-names-'))
    cli = devnetCli(dir)
    devnet = startCairn(['devnet', '--dir', dir, '--nodes', '3', '--heartbeat-ms', '500', '--no-gateway'])
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), 120_000)
    const state = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetState
    user = state.chain!.user.address
    const otherKey = devnetPrivateKeys(10)[9]!
    other = privateKeyToAccount(otherKey).address
    otherKeyFile = join(dir, 'other.key')
    await writeFile(otherKeyFile, `${otherKey}\n`, { mode: 0o600 })
    for (const [label, size] of [
      ['first', 40_000],
      ['second', 70_000],
    ] as const) {
      const path = join(dir, `${label}.bin`)
      const bytes = Buffer.alloc(size, label)
      await writeFile(path, bytes)
      const put = await cli.json<{ capability: string }>(['put', path, '--json'])
      files[label] = { bytes, capability: put.capability }
    }
  })
  after(async () => {
    await devnet?.stop('SIGINT', 30_000)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('publish, resolve, get: the name gives the capability and the capability the bytes', async () => {
    const published = await cli.json<PublishedName>(['name', 'publish', 'photos', files.first.capability, '--json'])
    assert.equal(published.sequence, 1)
    assert.equal(published.previousSequence, 0)
    assert.equal(published.owner, user)
    const network = JSON.parse(await readFile(join(dir, 'network.json'), 'utf8')) as { contracts: { names?: string } }
    assert.match(network.contracts.names ?? '', /^0x[0-9a-fA-F]{40}$/, 'the devnet deployed the Names contract')
    const resolved = await cli.ok(['name', 'resolve', 'photos'])
    assert.equal(resolved.trim(), files.first.capability)
    const { bytes } = await cli.getBytes(resolved.trim())
    assert.ok(bytes.equals(files.first.bytes), 'cairn get of the resolved capability gives the bytes put')
  })

  it('publish again: the name moves, and history lists both records with block and time', async () => {
    const text = await cli.ok(['name', 'publish', 'photos', files.second.capability])
    assert.match(text, /name photos -> sequence 2 \(was 1\)/)
    const entry = await cli.json<NameEntry>(['name', 'resolve', 'photos', '--json'])
    assert.equal(entry.sequence, 2)
    assert.equal(entry.capability, files.second.capability)
    const history = await cli.json<NameEntry[]>(['name', 'history', 'photos', '--json'])
    assert.deepEqual(
      history.map((e) => [e.sequence, e.capability]),
      [
        [1, files.first.capability],
        [2, files.second.capability],
      ],
    )
    assert.ok(BigInt(history[0]!.blockNumber) < BigInt(history[1]!.blockNumber))
    assert.ok(history.every((e) => Date.parse(e.time) > 0))
    const table = await cli.ok(['name', 'history', 'photos'])
    assert.match(table, /2 records/)
    assert.match(table, /SEQ +TIME +BLOCK +CAPABILITY/)
    // Anyone who knows the name and the owner reads it: another wallet, with --owner.
    const theirs = await cli.ok(['name', 'resolve', 'photos', '--owner', user, '--key-file', otherKeyFile])
    assert.equal(theirs.trim(), files.second.capability)
  })

  it('two concurrent publishes of the same next sequence: exactly one wins, the other gets the conflict', async () => {
    const results = await Promise.all(
      [files.first.capability, files.second.capability].map((capability) =>
        cli.run(['name', 'publish', 'photos', capability, '--expect-sequence', '2', '--json']),
      ),
    )
    const won = results.filter((r) => r.code === 0)
    const lost = results.filter((r) => r.code !== 0)
    assert.equal(won.length, 1, results.map((r) => r.stderr).join('\n'))
    assert.equal(lost.length, 1)
    assert.match(
      lost[0]!.stderr,
      /^error: name photos was updated to sequence 3 by another writer; resolve it and publish again\n$/,
    )
    const winner = JSON.parse(won[0]!.stdout.toString()) as PublishedName
    assert.equal(winner.sequence, 3)
    const history = await cli.json<NameEntry[]>(['name', 'history', 'photos', '--json'])
    assert.deepEqual(
      history.map((e) => e.sequence),
      [1, 2, 3],
    )
    // A stale writer (expects 2, the name is at 3) is refused the same way, before any transaction.
    const stale = await cli.run(['name', 'publish', 'photos', files.first.capability, '--expect-sequence', '2'])
    assert.notEqual(stale.code, 0)
    assert.match(stale.stderr, /name photos was updated to sequence 3 by another writer/)
  })

  it("another owner's record of the same name is its own: neither sees the other's", async () => {
    const none = await cli.run(['name', 'resolve', 'photos', '--owner', other])
    assert.notEqual(none.code, 0)
    assert.match(none.stderr, new RegExp(`^error: no name "photos" of owner ${other}: check the name and --owner`))
    const published = await cli.json<PublishedName>([
      'name',
      'publish',
      'photos',
      files.first.capability,
      '--key-file',
      otherKeyFile,
      '--json',
    ])
    assert.equal(published.sequence, 1)
    assert.equal(published.owner, other)
    assert.equal((await cli.ok(['name', 'resolve', 'photos', '--owner', other])).trim(), files.first.capability)
    const mine = await cli.json<NameEntry>(['name', 'resolve', 'photos', '--json'])
    assert.equal(mine.sequence, 3)
  })
})
