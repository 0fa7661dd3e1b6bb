/**
 * Crash-safe file system steps: a small file written so that a crash leaves either the old or the new content (temp
 * file, fsync, rename, fsync of the folder), and folders created so that they survive a crash (fsync of the parent).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { crashPoint } from './crash-point.ts'

/**
 * Replaces `path` atomically with `content` (mode 0600 by default) and fsyncs the folder.
 *
 * @example
 * ```ts
 * await writeFileDurable('/data/gateway.json', JSON.stringify(state))
 * ```
 */
export async function writeFileDurable(path: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  const folder = dirname(path)
  await mkdirDurable(folder)
  const temp = join(folder, `.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, 'w', mode)
  try {
    await handle.writeFile(content)
    await handle.sync()
  } catch (err) {
    await handle.close()
    await rm(temp, { force: true })
    throw err
  }
  await handle.close()
  crashPoint('durable-file:synced')
  await rename(temp, path)
  await syncFolder(folder)
}

/** Fsyncs a folder, so that a rename or a new file in it survives a crash. */
export async function syncFolder(path: string): Promise<void> {
  const dir = await open(path, 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/**
 * Creates folder `path` and any missing parents (as `mkdir -p`, with `mode` for the new ones, e.g. 0o700), then
 * fsyncs the parent of each folder it created, deepest first, so that the new folders are still there after a crash.
 * A folder that already exists costs one mkdir call and no fsync. Use it for any folder that a durable write (fsync
 * of a file, then of its folder) relies on.
 *
 * @example
 * ```ts
 * await mkdirDurable('/data/node/pieces/ab/cd', { mode: 0o700 })
 * ```
 */
export async function mkdirDurable(path: string, options: { mode?: number } = {}): Promise<void> {
  const first = await mkdir(path, { recursive: true, ...(options.mode === undefined ? {} : { mode: options.mode }) })
  if (first === undefined) return
  const created = [first]
  for (const part of relative(first, path)
    .split(sep)
    .filter((p) => p !== ''))
    created.push(join(created.at(-1)!, part))
  for (const folder of created.reverse()) await syncFolder(dirname(folder))
}
