/**
 * A preload (`node --import ./bench/transfer/memory-probe.ts ...`) that samples `process.memoryUsage()` every 20 ms
 * and writes the peak to `<CAIRN_MEMORY_PROBE_DIR>/<pid>.json` (every second and at exit, so a killed process leaves
 * its last peak): the peak RSS with the breakdown at that moment (V8 heap used and total, external memory, array
 * buffers), and the largest value each of them reached on its own. Benchmarks only.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.env.CAIRN_MEMORY_PROBE_DIR
if (dir !== undefined && dir !== '') {
  const MB = 1e6
  const round = (bytes: number) => Math.round((bytes / MB) * 10) / 10
  let atPeak = process.memoryUsage()
  const max = { ...atPeak }
  const started = performance.now()
  let peakAt = 0
  const sample = () => {
    const now = process.memoryUsage()
    if (now.rss > atPeak.rss) {
      atPeak = now
      peakAt = (performance.now() - started) / 1000
    }
    for (const key of Object.keys(max) as Array<keyof NodeJS.MemoryUsage>) max[key] = Math.max(max[key], now[key])
  }
  const write = () => {
    sample()
    const report = {
      pid: process.pid,
      argv: process.argv.slice(2).join(' ').slice(0, 200),
      peak_at_s: Math.round(peakAt * 10) / 10,
      at_peak_MB: Object.fromEntries(Object.entries(atPeak).map(([k, v]) => [k, round(v)])),
      max_MB: Object.fromEntries(Object.entries(max).map(([k, v]) => [k, round(v)])),
    }
    try {
      writeFileSync(join(dir, `${process.pid}.json`), `${JSON.stringify(report)}\n`)
    } catch {}
  }
  setInterval(sample, 20).unref()
  setInterval(write, 1000).unref()
  process.on('exit', write)
}
