/**
 * The pack of a walked folder as a stream (storage/tree-index.ts): header, index, then each file's bytes read from
 * disk in index order, one read buffer at a time, so a tree larger than memory streams through.
 */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { InvalidArgumentError } from '../../errors.ts'
import { encodeTreeHeader, encodeTreeIndex } from '../../storage/index.ts'
import type { WalkedTree } from './tree-walk.ts'

/** Bytes read from a file at once. */
const READ_CHUNK = 1024 * 1024

/**
 * Streams the pack of `tree`. A file whose size changed since the walk, or that became a link, fails the stream with
 * an `InvalidArgumentError` naming it: the index already promised its size.
 *
 * @example
 * ```ts
 * const { capability } = await client.put(packTree(await walkTree('photos')), { metadata: { type: TREE_MEDIA_TYPE } })
 * ```
 */
export async function* packTree(
  tree: WalkedTree,
  init: { onFile?: (path: string, bytes: number) => void; index?: Uint8Array } = {},
): AsyncGenerator<Uint8Array> {
  const index = init.index ?? encodeTreeIndex(tree.index)
  yield encodeTreeHeader(index.byteLength)
  yield index
  let file = 0
  for (const entry of tree.index.entries) {
    if (entry.type !== 'file') continue
    const local = tree.files[file++]!
    const changed = (now: string) =>
      new InvalidArgumentError(
        `${local} changed while the folder was being stored (${now}); store the folder again once nothing writes to it`,
      )
    const handle = await open(local, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err) => {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw changed('it is now a symbolic link')
      throw err
    })
    try {
      let left = entry.size
      while (left > 0) {
        const buffer = new Uint8Array(Math.min(READ_CHUNK, left))
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null)
        if (bytesRead === 0) throw changed(`it was ${entry.size} bytes, it ended after ${entry.size - left}`)
        left -= bytesRead
        yield bytesRead === buffer.byteLength ? buffer : buffer.subarray(0, bytesRead)
      }
      const probe = await handle.read(new Uint8Array(1), 0, 1, null)
      if (probe.bytesRead !== 0) throw changed(`it grew past its ${entry.size} bytes`)
    } finally {
      await handle.close()
    }
    init.onFile?.(entry.path, entry.size)
  }
}
