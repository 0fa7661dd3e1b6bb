/**
 * Restores a tree into a new local folder, safely against a hostile index: every path is checked again (no `..`, no
 * absolute path, no NUL, no empty name), everything is written inside a private temporary folder (mode 0700, made
 * next to the target) with O_CREAT|O_EXCL|O_NOFOLLOW and mkdir (which never follow or reuse anything), and that
 * folder is renamed onto the target only once complete. Nothing is written outside it, no link is ever followed.
 */
import { constants } from 'node:fs'
import { chmod, lstat, mkdir, mkdtemp, open, readdir, rename, rm, utimes } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { CorruptDataError, InvalidArgumentError } from '../../errors.ts'
import type { AbortOptions } from '../../node/index.ts'
import { type ByteReader, checkTreePath, syncFolder, type TreeIndex, validateTreeIndex } from '../../storage/index.ts'

/** Permission bits applied on restore: setuid and setgid are dropped, as tar does for a user. */
const RESTORED_MODE_BITS = 0o1777
/** Files fsynced at once at the end of a restore. */
const SYNC_CONCURRENCY = 64

export interface RestoreTreeInit {
  /** Called after each file is written. */
  onFile?: (path: string, bytes: number) => void
  /** fsync every file and folder before the final rename (default true). */
  durable?: boolean
}

/** Refuses a target that exists and is not an empty folder (or whose parent is missing), before any download. */
export async function checkRestoreTarget(target: string): Promise<void> {
  const parent = dirname(resolve(target))
  const info = await lstat(parent).catch(() => undefined)
  if (info?.isDirectory() !== true) {
    throw new InvalidArgumentError(`-o ${target}: the folder ${parent} does not exist; create it first`)
  }
  const existing = await lstat(target).catch(() => undefined)
  if (existing === undefined) return
  if (!existing.isDirectory() || (await readdir(target)).length > 0) {
    throw new InvalidArgumentError(
      `-o ${target}: it already exists; get -r restores into a new (or empty) folder and never writes over files`,
    )
  }
}

function timeOf(entry: { mtime: number; mtimeNs: number }): number {
  return entry.mtime + entry.mtimeNs / 1e9
}

/**
 * Writes the tree `index` whose data part `reader` yields next into folder `target` (new or empty), then checks the
 * data ended where the index says. On any error the temporary folder is removed and `target` is left untouched.
 *
 * @example
 * ```ts
 * const reader = new ByteReader(client.get(capability))
 * const { index } = await readTreeHead(reader)
 * await restoreTree(index, reader, 'restored')
 * ```
 */
export async function restoreTree(
  index: TreeIndex,
  reader: ByteReader,
  target: string,
  init: RestoreTreeInit = {},
  options: AbortOptions = {},
): Promise<{ files: number; folders: number; bytes: number }> {
  // The index may come from anyone: check it whole again (paths, order, offsets) before touching the disk.
  const { index: checked, dataSize } = validateTreeIndex(index)
  for (const entry of checked.entries) checkTreePath(entry.path)
  await checkRestoreTarget(target)
  const durable = init.durable ?? true
  const parent = dirname(resolve(target))
  const temp = await mkdtemp(join(parent, `.${basename(resolve(target))}.cairn-partial-`))
  const inside = (path: string) => join(temp, ...path.split('/'))
  let files = 0
  let folders = 0
  try {
    for (const entry of checked.entries) {
      options.signal?.throwIfAborted()
      if (entry.type === 'dir') {
        await mkdir(inside(entry.path), { mode: 0o700 })
        folders++
        continue
      }
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
      const handle = await open(inside(entry.path), flags, 0o600)
      try {
        for await (const chunk of reader.take(entry.size, `file ${entry.path}`)) await handle.write(chunk)
        await handle.utimes(timeOf(entry), timeOf(entry))
      } finally {
        await handle.close()
      }
      files++
      init.onFile?.(entry.path, entry.size)
    }
    if (!(await reader.atEnd())) {
      throw new CorruptDataError(`the pack holds more bytes than its index lists (${dataSize} bytes of files)`)
    }
    // Many fsyncs at once: the file system commits them together (one at a time, 10,000 files took minutes).
    const dirs = checked.entries.filter((e) => e.type === 'dir').reverse()
    if (durable) {
      await syncAll(checked.entries.filter((e) => e.type === 'file').map((e) => inside(e.path)))
      await syncAll(dirs.map((d) => inside(d.path)))
    }
    // Modes after the fsyncs (a file may be made unreadable to its owner), folders last, deepest first: writing into a
    // folder changes its mtime, and its mode may forbid writing.
    for (const file of checked.entries) {
      if (file.type === 'file') await chmod(inside(file.path), file.mode & RESTORED_MODE_BITS)
    }
    for (const dir of dirs) {
      await chmod(inside(dir.path), dir.mode & RESTORED_MODE_BITS)
      await utimes(inside(dir.path), timeOf(dir), timeOf(dir))
    }
    if (durable) await syncFolder(temp)
    await chmod(temp, checked.root.mode & RESTORED_MODE_BITS)
    await utimes(temp, timeOf(checked.root), timeOf(checked.root))
    await rename(temp, target)
    if (durable) await syncFolder(parent)
  } catch (err) {
    await chmod(temp, 0o700).catch(() => {})
    await makeRemovable(temp)
    await rm(temp, { recursive: true, force: true })
    throw err
  } finally {
    await reader.close()
  }
  return { files, folders, bytes: dataSize }
}

/** Fsyncs every path (files or folders), `SYNC_CONCURRENCY` at a time. */
async function syncAll(paths: string[]): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < paths.length) {
      const handle = await open(paths[next++]!, constants.O_RDONLY | constants.O_NOFOLLOW)
      await handle.sync().finally(() => handle.close())
    }
  }
  await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, paths.length) }, worker))
}

/** Gives back write permission on every folder under `path` (a restore may have made some read-only). */
async function makeRemovable(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined)
  if (info?.isDirectory() !== true) return
  await chmod(path, 0o700).catch(() => {})
  for (const name of await readdir(path).catch(() => [] as string[])) await makeRemovable(join(path, name))
}
