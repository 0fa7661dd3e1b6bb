/**
 * Parallel `cairn put`s from one wallet (defect 1 of docs/reliability.md): each process signs a permit and sends its
 * createDeal from the same account, so without the client home's transaction lock they raced on the account nonce and
 * on the permit nonce ("Nonce provided ... lower than the current nonce", "insufficient allowance"). Every put must
 * succeed and every file read back byte-equal.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type DevnetCli, devnetCli, type LongRunning, startCairn, waitFor } from './devnet-fixture.ts'

const PUTS = 4

describe('concurrent puts from one wallet', { timeout: 420_000 }, () => {
  let dir: string
  let devnet: LongRunning | undefined
  let cli: DevnetCli

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-concurrent-puts-'))
    cli = devnetCli(dir, { timeoutMs: 240_000 })
    devnet = startCairn(['devnet', '--dir', dir, '--nodes', '4', '--heartbeat-ms', '500', '--no-gateway'])
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), 180_000)
    // One put on its own first: the nodes are then active in the Registry and reachable (the race needs them).
    await writeFile(join(dir, 'warm-up'), randomBytes(10_000))
    await waitFor(
      async () => (await cli.run(['put', join(dir, 'warm-up'), '--json'])).code === 0,
      120_000,
      'a first put to succeed',
    )
  })
  after(async () => {
    await devnet?.stop('SIGINT', 30_000)
    if (dir !== undefined && process.env.CAIRN_TEST_KEEP !== '1') await rm(dir, { recursive: true, force: true })
  })

  it(`${PUTS} puts started at once all succeed and read back byte-equal`, async () => {
    const files = await Promise.all(
      Array.from({ length: PUTS }, async (_, i) => {
        const bytes = randomBytes(50_000 + i * 10_000)
        const path = join(dir, `file-${i}`)
        await writeFile(path, bytes)
        return { path, bytes }
      }),
    )
    const results = await Promise.all(files.map((file) => cli.run(['put', file.path, '--json'])))
    const failures = results
      .map((result, i) => ({ i, code: result.code, stderr: result.stderr.trim().split('\n').slice(-2).join(' ') }))
      .filter((r) => r.code !== 0)
    assert.deepEqual(failures, [], 'every put of the one wallet succeeds')
    for (const [i, result] of results.entries()) {
      const { capability } = JSON.parse(result.stdout.toString('utf8')) as { capability: string }
      const { bytes } = await cli.getBytes(capability)
      assert.ok(bytes.equals(files[i]!.bytes), `file ${i} reads back byte-equal`)
    }
    const left = (await readdir(join(dir, 'client'))).filter((name) => name.endsWith('.lock'))
    assert.deepEqual(left, [], 'no transaction lock is left behind')
  })
})
