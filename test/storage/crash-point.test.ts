import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { InvalidArgumentError } from '../../src/errors.ts'
import { configureCrashPoint, crashPoint } from '../../src/storage/index.ts'

const MODULE = fileURLToPath(new URL('../../src/storage/crash-point.ts', import.meta.url))

/** Runs a process that arms `spec` and hits `point` `hits` times, printing each hit; its output and how it ended. */
function armedProcess(spec: string, point: string, hits: number) {
  const script = `
    const { configureCrashPoint, crashPoint } = await import(${JSON.stringify(MODULE)})
    configureCrashPoint(${JSON.stringify(spec)})
    for (let i = 1; i <= ${hits}; i++) { process.stdout.write('hit ' + i + '\\n'); crashPoint(${JSON.stringify(point)}) }
    process.stdout.write('done\\n')
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8')
  })
  return new Promise<{ out: string; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (_code, signal) => resolve({ out, signal })),
  )
}

describe('the crash switch', { timeout: 30_000 }, () => {
  it('SIGKILLs its own process on the n-th hit of the armed point, not before', async () => {
    const { out, signal } = await armedProcess('piece-store:renamed:3', 'piece-store:renamed', 5)
    assert.equal(signal, 'SIGKILL')
    assert.equal(out, 'hit 1\nhit 2\nhit 3\n')
  })

  it('does nothing for another point, or when off', async () => {
    assert.equal(
      (await armedProcess('piece-store:renamed:1', 'state-file:written', 3)).out,
      'hit 1\nhit 2\nhit 3\ndone\n',
    )
    assert.equal((await armedProcess('', 'piece-store:renamed', 2)).out, 'hit 1\nhit 2\ndone\n')
    configureCrashPoint('')
    crashPoint('piece-store:renamed')
  })

  it('refuses a switch that names no point or no hit, naming the variable and the points', () => {
    for (const bad of ['piece-store:renamed', 'nowhere:1', 'piece-store:renamed:0', 'piece-store:renamed:x', ':1']) {
      assert.throws(
        () => configureCrashPoint(bad),
        (error: Error) =>
          error instanceof InvalidArgumentError &&
          error.message.includes('CAIRN_FAULT_CRASH_AT must be <point>:<n>') &&
          error.message.includes('piece-store:temp-written') &&
          error.message.includes(`'${bad}'`),
      )
    }
  })
})
