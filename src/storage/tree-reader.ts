/**
 * Reading a pack (tree-index.ts) as a stream: its header and index first, then its data part, a file at a time, never
 * holding more than one chunk of data; and the lookups a reader makes in an index (one path, one folder's listing).
 */
import { CorruptDataError, InvalidArgumentError, NotFoundError } from '../errors.ts'
import { CAPABILITY_PREFIX } from './constants.ts'
import {
  checkTreePath,
  decodeTreeHeader,
  decodeTreeIndex,
  NOT_A_TREE,
  TREE_HEADER_SIZE,
  type TreeEntry,
  type TreeIndex,
  treeParent,
} from './tree-index.ts'

/** Reads exact byte counts from a stream of chunks. */
export class ByteReader {
  readonly #source: AsyncIterator<Uint8Array>
  #pending: Uint8Array = new Uint8Array(0)
  #ended = false

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]()
  }

  async #fill(): Promise<boolean> {
    while (this.#pending.byteLength === 0 && !this.#ended) {
      const next = await this.#source.next()
      if (next.done === true) this.#ended = true
      else this.#pending = next.value
    }
    return this.#pending.byteLength > 0
  }

  /** Exactly `length` bytes (copied into one buffer); throws `CorruptDataError` if the stream ends first. */
  async readExactly(length: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(length)
    let filled = 0
    for await (const chunk of this.take(length, what)) {
      out.set(chunk, filled)
      filled += chunk.byteLength
    }
    return out
  }

  /** The next `length` bytes as they arrive (views of the source's chunks). */
  async *take(length: number, what: string): AsyncGenerator<Uint8Array> {
    let left = length
    while (left > 0) {
      if (!(await this.#fill())) throw new CorruptDataError(`the pack ended ${left} bytes before the end of ${what}`)
      const chunk = this.#pending.byteLength <= left ? this.#pending : this.#pending.subarray(0, left)
      this.#pending = this.#pending.subarray(chunk.byteLength)
      left -= chunk.byteLength
      yield chunk
    }
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill())
  }

  /** Stops the source early (a reader that needs no more bytes). */
  async close(): Promise<void> {
    await this.#source.return?.()
  }
}

/**
 * Reads a pack's header and index from the start of `source`, leaving the reader at the first data byte; `dataOffset`
 * is where the data part starts in the pack (a file's bytes are at `dataOffset + entry.offset`).
 *
 * @example
 * ```ts
 * const reader = new ByteReader(client.get(capability))
 * const { index, dataSize } = await readTreeHead(reader)
 * ```
 */
export async function readTreeHead(
  reader: ByteReader,
): Promise<{ index: TreeIndex; dataSize: number; dataOffset: number }> {
  const header = await reader.readExactly(TREE_HEADER_SIZE, 'the header').catch((cause) => {
    throw cause instanceof CorruptDataError ? new InvalidArgumentError(NOT_A_TREE, { cause }) : cause
  })
  const indexLength = decodeTreeHeader(header)
  const decoded = decodeTreeIndex(await reader.readExactly(indexLength, 'the tree index'))
  return { ...decoded, dataOffset: TREE_HEADER_SIZE + indexLength }
}

/**
 * Splits `cairn:<cid>#<key>/path/in/tree` into the capability and the path (`''` when none). The key is base64url,
 * which has no `/`, so the first `/` after `#` starts the path.
 *
 * @example
 * ```ts
 * splitTreeCapability('cairn:bafy...#q83v/docs/a.txt') // { capability: 'cairn:bafy...#q83v', path: 'docs/a.txt' }
 * ```
 */
export function splitTreeCapability(text: string): { capability: string; path: string } {
  const trimmed = text.trim()
  const hash = trimmed.indexOf('#')
  const slash = trimmed.indexOf('/', hash === -1 ? CAPABILITY_PREFIX.length : hash)
  if (slash === -1) return { capability: trimmed, path: '' }
  const path = trimmed.slice(slash + 1).replace(/\/+$/, '')
  return { capability: trimmed.slice(0, slash), path: path === '' ? '' : checkTreePath(path, 'the path') }
}

/** The entry at `path` (`undefined` for the root, `''`); throws `NotFoundError` naming the path when there is none. */
export function findTreeEntry(index: TreeIndex, path: string): TreeEntry | undefined {
  if (path === '') return undefined
  const entry = index.entries.find((e) => e.path === path)
  if (entry === undefined) throw new NotFoundError(`the tree has no file or folder '${path}'`)
  return entry
}

/** The entries directly inside folder `path` (`''`: the root), in index order. */
export function treeListing(index: TreeIndex, path: string): TreeEntry[] {
  const entry = findTreeEntry(index, path)
  if (entry !== undefined && entry.type !== 'dir') throw new InvalidArgumentError(`'${path}' is a file, not a folder`)
  return index.entries.filter((e) => treeParent(e.path) === path)
}
