/** What the transfer benchmarks share: a process's CPU time from /proc, and random input files with their sha-256. */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'

/** CPU seconds (user + system) a process has used so far; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

/** The sha-256 (hex) of a file's bytes. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Writes `bytes` random bytes to `path`; returns their sha-256 (hex). */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256')
  const file = await open(path, 'w')
  try {
    for (let written = 0; written < bytes; ) {
      const chunk = randomBytes(Math.min(16 << 20, bytes - written))
      hash.update(chunk)
      await file.write(chunk)
      written += chunk.byteLength
    }
  } finally {
    await file.close()
  }
  return hash.digest('hex')
}
