/**
 * Reading a stored tree through a client: its index (read from the start of the pack, then the download stops), one
 * file of it (a range read: only the segments holding that file are fetched), or the whole tree into a folder.
 */
import { InvalidArgumentError } from '../../errors.ts'
import type { AbortOptions } from '../../node/index.ts'
import { ByteReader, findTreeEntry, readTreeHead, type TreeFileEntry, type TreeIndex } from '../../storage/index.ts'
import type { Client, GetInit } from '../interface.ts'
import { type RestoreTreeInit, restoreTree } from './restore-tree.ts'

/** A tree's index and where its data part starts in the pack. */
export interface OpenedTree {
  index: TreeIndex
  dataSize: number
  dataOffset: number
}

/**
 * Reads the index of the tree `capability` names. Throws `InvalidArgumentError` when it names a plain file.
 *
 * @example
 * ```ts
 * const { index } = await openTree(client, capability)
 * for (const entry of index.entries) console.log(entry.path)
 * ```
 */
export async function openTree(
  client: Pick<Client, 'get'>,
  capability: string,
  init: Pick<GetInit, 'prefer' | 'onProgress'> = {},
  options: AbortOptions = {},
): Promise<OpenedTree> {
  const reader = new ByteReader(client.get(capability, init, options))
  try {
    return await readTreeHead(reader)
  } finally {
    await reader.close()
  }
}

/** The file entry at `path`; throws naming the problem when it is a folder or absent. */
export function treeFile(tree: OpenedTree, path: string): TreeFileEntry {
  const entry = findTreeEntry(tree.index, path)
  if (entry === undefined || entry.type !== 'file') {
    throw new InvalidArgumentError(
      `'${path === '' ? '/' : path}' is a folder of the tree, not a file: list it with cairn ls, or use get -r`,
    )
  }
  return entry
}

/**
 * The bytes of one file of a tree: a range read of the pack, so only the segments holding it are fetched.
 *
 * @example
 * ```ts
 * const tree = await openTree(client, capability)
 * for await (const chunk of readTreeFile(client, capability, tree, 'docs/a.txt')) out.write(chunk)
 * ```
 */
export async function* readTreeFile(
  client: Pick<Client, 'get'>,
  capability: string,
  tree: OpenedTree,
  path: string,
  init: Pick<GetInit, 'prefer' | 'onProgress'> = {},
  options: AbortOptions = {},
): AsyncGenerator<Uint8Array> {
  const entry = treeFile(tree, path)
  if (entry.size === 0) return
  yield* client.get(capability, { ...init, offset: tree.dataOffset + entry.offset, length: entry.size }, options)
}

/**
 * Restores the whole tree into folder `target` (new or empty) in one streaming download of the pack.
 *
 * @example
 * ```ts
 * await getTree(client, capability, 'restored')
 * ```
 */
export async function getTree(
  client: Pick<Client, 'get'>,
  capability: string,
  target: string,
  init: RestoreTreeInit & Pick<GetInit, 'prefer' | 'onProgress'> & { onIndex?: (tree: OpenedTree) => void } = {},
  options: AbortOptions = {},
): Promise<{ files: number; folders: number; bytes: number }> {
  const { onFile, durable, onIndex, ...getInit } = init
  const reader = new ByteReader(client.get(capability, getInit, options))
  let head: OpenedTree
  try {
    head = await readTreeHead(reader)
  } catch (err) {
    await reader.close()
    throw err
  }
  onIndex?.(head)
  return restoreTree(
    head.index,
    reader,
    target,
    { ...(onFile === undefined ? {} : { onFile }), ...(durable === undefined ? {} : { durable }) },
    options,
  )
}
