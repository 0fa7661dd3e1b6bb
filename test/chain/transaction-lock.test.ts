import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { acquireTransactionLock } from '../../src/chain/transaction-lock.ts'
import { TimeoutError } from '../../src/errors.ts'

const LOCK_MODULE = fileURLToPath(new URL('../../src/chain/transaction-lock.ts', import.meta.url))

/** A child process that takes the lock, logs its turn's start and end around a held moment, and releases it. */
function turnInChild(lock: string, log: string): Promise<number | null> {
  const script = `
    import { appendFileSync } from 'node:fs'
    const { acquireTransactionLock } = await import(${JSON.stringify(LOCK_MODULE)})
    const release = await acquireTransactionLock(${JSON.stringify(lock)}, { waitMs: 60000 })
    appendFileSync(${JSON.stringify(log)}, 'start ' + process.pid + '\\n')
    await new Promise((resolve) => setTimeout(resolve, 30))
    appendFileSync(${JSON.stringify(log)}, 'end ' + process.pid + '\\n')
    await release()
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  return new Promise((resolve) => child.on('close', (code) => resolve(code)))
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.on('close', resolve))
  return child.pid!
}

describe('the transaction lock file', { timeout: 60_000 }, () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-transaction-lock-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('gives one process at a time the turn, across 6 processes, and leaves no file behind', async () => {
    const lock = join(dir, 'home', 'wallet-a.lock')
    const log = join(dir, 'turns.log')
    const codes = await Promise.all(Array.from({ length: 6 }, () => turnInChild(lock, log)))
    assert.deepEqual(codes, [0, 0, 0, 0, 0, 0])
    const lines = (await readFile(log, 'utf8')).trim().split('\n')
    assert.equal(lines.length, 12)
    for (let i = 0; i < lines.length; i += 2) {
      const [start, end] = [lines[i]!.split(' '), lines[i + 1]!.split(' ')]
      assert.equal(start[0], 'start', `turn ${i / 2} starts before another ends: ${lines.join(', ')}`)
      assert.deepEqual(end, ['end', start[1]], `turn ${i / 2} ends before the next starts: ${lines.join(', ')}`)
    }
    await assert.rejects(stat(lock), { code: 'ENOENT' })
  })

  it('takes over a lock whose process is gone', async () => {
    const lock = join(dir, 'dead.lock')
    const pid = await deadPid()
    await writeFile(lock, JSON.stringify({ pid, host: hostname(), time: Date.now(), token: 'x' }))
    const release = await acquireTransactionLock(lock, { waitMs: 1_000 })
    assert.equal(JSON.parse(await readFile(lock, 'utf8')).pid, process.pid)
    await release()
  })

  it('takes over a lock older than the stale bound, and an unreadable one left by a writer that died', async () => {
    const old = join(dir, 'old.lock')
    await writeFile(old, JSON.stringify({ pid: process.pid, host: hostname(), time: Date.now() - 60_000, token: 'x' }))
    const release = await acquireTransactionLock(old, { waitMs: 1_000, staleMs: 30_000 })
    await release()
    const torn = join(dir, 'torn.lock')
    await writeFile(torn, '')
    await utimes(torn, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))
    const releaseTorn = await acquireTransactionLock(torn, { waitMs: 1_000 })
    await releaseTorn()
  })

  it('waits at most waitMs for a live holder, then names the lock file and its holder', async () => {
    const lock = join(dir, 'held.lock')
    const release = await acquireTransactionLock(lock)
    const started = Date.now()
    await assert.rejects(acquireTransactionLock(lock, { waitMs: 400 }), (error: Error) => {
      assert.ok(error instanceof TimeoutError)
      assert.match(error.message, new RegExp(`lock ${lock.replaceAll('/', '\\/')} is held by process ${process.pid}`))
      assert.match(error.message, /remove .* if no cairn process is running/)
      return true
    })
    assert.ok(Date.now() - started < 5_000)
    await release()
    const again = await acquireTransactionLock(lock, { waitMs: 1_000 })
    await again()
  })

  it('a release never removes a lock another process took over meanwhile', async () => {
    const lock = join(dir, 'taken.lock')
    const release = await acquireTransactionLock(lock)
    const other = JSON.stringify({ pid: process.pid, host: hostname(), time: Date.now(), token: 'other' })
    await writeFile(lock, other)
    await release()
    assert.equal(await readFile(lock, 'utf8'), other)
  })
})
