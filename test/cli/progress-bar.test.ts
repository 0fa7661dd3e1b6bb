import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ProgressBar } from '../../src/cli/progress-bar.ts'

/** A stream that records what is written, as a log file or a pipe would receive it. */
function logStream() {
  const writes: string[] = []
  const stream = { write: (text: string) => writes.push(text) > 0, columns: undefined } as unknown as NodeJS.WriteStream
  return { stream, writes }
}

describe('progress bar', () => {
  it('on a non-terminal writes plain lines every interval, no escape codes, and nothing for a quick run', () => {
    let now = 0
    const { stream, writes } = logStream()
    const bar = new ProgressBar({ label: 'put', total: 100e6, stream, plain: true, now: () => now })
    now = 1_000
    bar.update(10e6)
    assert.equal(writes.length, 0, 'nothing in the first interval')
    now = 6_000
    bar.update(40e6)
    now = 7_000
    bar.update(50e6)
    now = 12_000
    bar.update(90e6)
    bar.finish()
    assert.equal(writes.length, 3)
    assert.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\x1b') && !w.includes('\r')))
    assert.match(writes[0]!, /^put +40% /)
    assert.match(writes[2]!, /^put 100% /)
    bar.clear()
    assert.equal(writes.length, 3, 'clear writes nothing to a log')
  })
})
