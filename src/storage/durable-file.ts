/** Writes a small file so that a crash leaves either the old or the new content: temp file, fsync, rename. */
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'

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
  await mkdir(folder, { recursive: true })
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
