/**
 * The chaos suite's short form inside `npm test`: `npm run chaos -- --quick` as a child process for the scenarios CI
 * can afford (CI_SCENARIOS: about 4 minutes on a 2-core machine; `npm run chaos -- --quick` runs every built one),
 * one run each, fast repair timings, asserting what its summary line says a user would check: every acknowledged file
 * read back (0 lost), no plaintext canary anywhere, and every scenario's goals met. The seed is printed, so a failure
 * is rerun with `npm run chaos -- --quick --seed SEED`.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { ChaosSummary, ScenarioResult } from './scenario.ts'

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url))
/** Mass failure mid-upload (no acknowledged file lost) and plaintext canaries (no key or plaintext on any disk). */
const CI_SCENARIOS = ['mass-failure', 'plaintext-canaries']

test('npm run chaos -- --quick: no acknowledged file lost, no canary leaked, every goal met', {
  timeout: 480_000,
}, async (t) => {
  const seed = String(Math.floor(Math.random() * 2 ** 31))
  const child = spawn(process.execPath, [MAIN, '--quick', '--seed', seed, ...CI_SCENARIOS], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // A timed-out test still stops the runner: its SIGTERM handler stops every devnet and removes its folder.
  t.signal.addEventListener('abort', () => child.kill('SIGTERM'), { once: true })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString('utf8')
  })
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8')
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const lines = stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as ScenarioResult | ChaosSummary)
  const summary = lines.at(-1) as ChaosSummary | undefined
  const context = `seed ${seed}; rerun: npm run chaos -- --quick --seed ${seed} ${CI_SCENARIOS.join(' ')}\n${stdout}\n${stderr.slice(-3000)}`
  assert.ok(summary?.summary === true, `no summary line: ${context}`)
  assert.equal(summary.seed, Number(seed))
  assert.ok(summary.scenarios_run.length > 0, context)
  assert.equal(summary.lost_files, 0, context)
  assert.ok((summary.acknowledged_files ?? 0) > 0, context)
  assert.equal(summary.plaintext_hits, 0, context)
  assert.deepEqual(summary.scenarios_failed, [], context)
  assert.equal(code, 0, context)
})
