/**
 * Walks a local folder into a tree index (storage/tree-index.ts): folders and regular files, depth first, names in
 * byte order, with their permission bits and nanosecond mtimes. Symbolic links and special files are skipped (and
 * reported): a stored tree holds only what `cairn get -r` can restore without following a link.
 */
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../errors.ts'
import { MAX_TREE_ENTRIES, TREE_INDEX_VERSION, type TreeEntry, type TreeIndex } from '../../storage/index.ts'

/** A folder as walked: its index, and the local path of each file entry, in index order. */
export interface WalkedTree {
  index: TreeIndex
  /** Local path of the i-th file entry of the index. */
  files: string[]
  dataSize: number
  folders: number
}

/** Something the walk left out, and why. */
export interface SkippedPath {
  path: string
  reason: 'symbolic link' | 'special file'
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function timesOf(info: { mode: bigint; mtimeNs: bigint }): { mode: number; mtime: number; mtimeNs: number } {
  const second = 1_000_000_000n
  let seconds = info.mtimeNs / second
  let ns = info.mtimeNs % second
  if (ns < 0n) {
    ns += second
    seconds -= 1n
  }
  return { mode: Number(info.mode & 0o7777n), mtime: Number(seconds), mtimeNs: Number(ns) }
}

/**
 * Walks `root` (a folder) into a tree index. Throws `InvalidArgumentError` when `root` is no folder, when a name is
 * not UTF-8, or when the tree has more than `MAX_TREE_ENTRIES` entries.
 *
 * @example
 * ```ts
 * const { index, files } = await walkTree('photos', { onSkip: (s) => console.warn(s.path, s.reason) })
 * ```
 */
export async function walkTree(
  root: string,
  init: { onSkip?: (skipped: SkippedPath) => void } = {},
): Promise<WalkedTree> {
  const top = await lstat(root, { bigint: true })
  if (!top.isDirectory()) throw new InvalidArgumentError(`${root} is not a folder: put -r stores a folder`)
  const entries: TreeEntry[] = []
  const files: string[] = []
  let dataSize = 0
  let folders = 0
  const visit = async (local: string, prefix: string): Promise<void> => {
    const names = (await readdir(local, { encoding: 'buffer' })).sort(Buffer.compare)
    for (const raw of names) {
      let name: string
      try {
        name = utf8.decode(raw)
      } catch {
        throw new InvalidArgumentError(
          `${join(local, raw.toString('latin1'))}: the name is not UTF-8; rename it (a tree stores UTF-8 names)`,
        )
      }
      const path = prefix === '' ? name : `${prefix}/${name}`
      const fsPath = join(local, name)
      const info = await lstat(fsPath, { bigint: true })
      if (entries.length >= MAX_TREE_ENTRIES) {
        throw new InvalidArgumentError(`${root} has more than ${MAX_TREE_ENTRIES} files and folders: store it in parts`)
      }
      if (info.isDirectory()) {
        entries.push({ type: 'dir', path, ...timesOf(info) })
        folders++
        await visit(fsPath, path)
      } else if (info.isFile()) {
        entries.push({ type: 'file', path, ...timesOf(info), offset: dataSize, size: Number(info.size) })
        files.push(fsPath)
        dataSize += Number(info.size)
      } else {
        init.onSkip?.({ path, reason: info.isSymbolicLink() ? 'symbolic link' : 'special file' })
      }
    }
  }
  await visit(root, '')
  return { index: { version: TREE_INDEX_VERSION, root: timesOf(top), entries }, files, dataSize, folders }
}
