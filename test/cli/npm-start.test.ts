/**
 * `npm start` is the README's first command: a process manager or script that signals npm's own pid (not the
 * process group, as Ctrl-C does) must stop the whole devnet, nodes included.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function startAndSignal(signal: NodeJS.Signals): Promise<{ pids: number[]; left: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-npm-start-'))
  const args = ['start', '--', '--dir', dir, '--nodes', '2', '--no-chain', '--no-gateway']
  const npm = spawn('npm', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  npm.stdout.on('data', (c: Buffer) => {
    out += c.toString()
  })
  npm.stderr.on('data', (c: Buffer) => {
    out += c.toString()
  })
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()))
  let pids: number[] = []
  try {
    const deadline = Date.now() + 120_000
    while (!out.includes('devnet ready')) {
      assert.ok(Date.now() < deadline && npm.exitCode === null, `npm start did not get ready: ${out.slice(-800)}`)
      await sleep(200)
    }
    const state = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as { nodes: Array<{ pid: number }> }
    pids = state.nodes.map((n) => n.pid)
    assert.equal(pids.length, 2)
    assert.ok(pids.every(alive))
    // The signal goes to npm's pid only, as a process manager sends it.
    process.kill(npm.pid!, signal)
    const stopBy = Date.now() + 30_000
    while (Date.now() < stopBy && (pids.some(alive) || npm.exitCode === null)) await sleep(200)
    return { pids, left: pids.filter(alive) }
  } finally {
    // Whatever happened, leave nothing running: the whole group, then any node that escaped it.
    try {
      process.kill(-npm.pid!, 'SIGKILL')
    } catch {}
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
    await Promise.race([exited, sleep(5_000)])
    await rm(dir, { recursive: true, force: true })
  }
}

describe('npm start', { timeout: 300_000 }, () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} sent to npm's pid stops the devnet and its nodes`, async () => {
      const { left } = await startAndSignal(signal)
      assert.deepEqual(left, [], `node processes still running after ${signal} to npm`)
    })
  }
})
