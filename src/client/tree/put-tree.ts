/** `putTree`: a local folder stored as one pack (storage/tree-index.ts), one Cairn file, so one deal. */
import { basename, resolve } from 'node:path'
import type { AbortOptions } from '../../node/index.ts'
import { encodeTreeIndex, TREE_HEADER_SIZE, TREE_MEDIA_TYPE } from '../../storage/index.ts'
import type { Client, PutInit, PutResult } from '../interface.ts'
import { packTree } from './tree-pack.ts'
import { type SkippedPath, walkTree } from './tree-walk.ts'

/** What a tree put stored, beyond the pack's own put result. */
export interface PutTreeResult extends PutResult {
  files: number
  folders: number
  /** Bytes of file content (the pack adds its index). */
  bytes: number
  skipped: SkippedPath[]
}

export interface PutTreeInit extends Omit<PutInit, 'metadata'> {
  /** Name recorded for the tree (the folder's own name by default). */
  name?: string
  onSkip?: (skipped: SkippedPath) => void
  /** Called before the pack is sent, with the totals the walk found. */
  onWalked?: (totals: { files: number; folders: number; bytes: number; packSize: number }) => void
}

/**
 * Stores folder `path`: walks it, then streams its pack through `client.put` with metadata naming the folder and the
 * type `TREE_MEDIA_TYPE`.
 *
 * @example
 * ```ts
 * const { capability, files } = await putTree(client, 'photos', { k: 2, n: 4 })
 * ```
 */
export async function putTree(
  client: Pick<Client, 'put'>,
  path: string,
  init: PutTreeInit = {},
  options: AbortOptions = {},
): Promise<PutTreeResult> {
  const skipped: SkippedPath[] = []
  const tree = await walkTree(path, {
    onSkip: (s) => {
      skipped.push(s)
      init.onSkip?.(s)
    },
  })
  const files = tree.files.length
  const { name, onSkip: _onSkip, onWalked, ...putInit } = init
  const index = encodeTreeIndex(tree.index)
  const source = packTree(tree, { index })
  onWalked?.({
    files,
    folders: tree.folders,
    bytes: tree.dataSize,
    packSize: TREE_HEADER_SIZE + index.byteLength + tree.dataSize,
  })
  const metadata = {
    name: name ?? basename(resolve(path)),
    type: TREE_MEDIA_TYPE,
    mtime: tree.index.root.mtime * 1000 + Math.floor(tree.index.root.mtimeNs / 1e6),
  }
  const result = await client.put(source, { ...putInit, metadata }, options)
  return { ...result, files, folders: tree.folders, bytes: tree.dataSize, skipped }
}
