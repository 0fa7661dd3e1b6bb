/**
 * The tree format (`cairn put -r`): a folder stored as ONE Cairn file, the pack, so a tree of 10,000 small files is one
 * manifest and one deal, its names encrypted with the rest of the pack. Layout (docs/protocol.md, "Trees"):
 *
 * ```
 * pack   = header || index || data
 * header = "CAIRNTRE" (8 ASCII bytes) || u64be byte length of index
 * index  = DAG-CBOR { version: 1, root: { mode, mtime, mtimeNs },
 *                     entries: [ { type: "dir",  path, mode, mtime, mtimeNs }
 *                              | { type: "file", path, mode, mtime, mtimeNs, offset, size } ... ] }
 * data   = the files' bytes, concatenated in entry order (a file's bytes are data[offset, offset + size))
 * ```
 * A path is relative, `/`-separated, each name non-empty, not `.` or `..`, without NUL, at most 255 UTF-8 bytes, the
 * path at most 4096. Every entry's parent folder comes before it; paths are unique; file offsets are contiguous from
 * 0. `mode` is the permission bits (0..0o7777), `mtime` whole seconds since the epoch, `mtimeNs` 0..999,999,999.
 * The pack's metadata says `type: TREE_MEDIA_TYPE`; the header's magic is what readers trust.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { InvalidArgumentError, InvalidManifestError, UnsupportedVersionError } from '../errors.ts'

/** Media type in the metadata of a pack (a folder stored with `cairn put -r`). */
export const TREE_MEDIA_TYPE = 'application/vnd.cairn.tree'
/** Version of the tree index written by this code; readers refuse others. */
export const TREE_INDEX_VERSION = 1
/** The first 8 bytes of every pack. */
export const TREE_MAGIC = new TextEncoder().encode('CAIRNTRE')
/** Bytes of the pack header: magic and the index length. */
export const TREE_HEADER_SIZE = 16
/** Largest index accepted (checked before it is read). */
export const MAX_TREE_INDEX_SIZE = 256 * 1024 * 1024
/** Most entries (files and folders) in one tree. */
export const MAX_TREE_ENTRIES = 2_000_000
/** Longest name (one path component) and path, in UTF-8 bytes, as Linux allows. */
export const MAX_TREE_NAME_BYTES = 255
export const MAX_TREE_PATH_BYTES = 4096

interface TreeTimes {
  /** Permission bits, 0..0o7777. */
  mode: number
  /** Modification time: whole seconds since the epoch (may be negative) and nanoseconds within it. */
  mtime: number
  mtimeNs: number
}

export interface TreeDirEntry extends TreeTimes {
  type: 'dir'
  path: string
}

export interface TreeFileEntry extends TreeTimes {
  type: 'file'
  path: string
  /** Where the file's bytes start in the data part of the pack. */
  offset: number
  size: number
}

export type TreeEntry = TreeDirEntry | TreeFileEntry

export interface TreeIndex {
  version: number
  /** The stored folder itself. */
  root: TreeTimes
  entries: TreeEntry[]
}

const encoder = new TextEncoder()

/**
 * Checks one path of a tree and returns it; throws `InvalidManifestError` naming the problem for a path that could
 * leave the folder it is restored into (absolute, `..`, `.`, empty names, NUL) or that no file system would take.
 *
 * @example
 * ```ts
 * checkTreePath('docs/a.txt') // 'docs/a.txt'
 * checkTreePath('../etc/passwd') // throws: the name '..' would climb out of the folder
 * ```
 */
export function checkTreePath(path: unknown, where = 'a tree path'): string {
  const bad = (why: string): never => {
    throw new InvalidManifestError(`invalid tree index: ${where} ${JSON.stringify(path)} ${why}`)
  }
  if (typeof path !== 'string') return bad('is not text')
  if (path === '') return bad('is empty')
  if (path.includes('\0')) return bad('contains a NUL byte')
  if (path.startsWith('/')) return bad('is absolute (a tree holds relative paths only)')
  if (encoder.encode(path).byteLength > MAX_TREE_PATH_BYTES) return bad(`is over ${MAX_TREE_PATH_BYTES} bytes`)
  for (const name of path.split('/')) {
    if (name === '') return bad('has an empty name (a doubled or trailing /)')
    if (name === '..') return bad("has the name '..', which would climb out of the folder")
    if (name === '.') return bad("has the name '.'")
    if (encoder.encode(name).byteLength > MAX_TREE_NAME_BYTES)
      return bad(`has a name over ${MAX_TREE_NAME_BYTES} bytes`)
  }
  return path
}

/** The folder holding `path` (`''` for the tree's root). */
export function treeParent(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash === -1 ? '' : path.slice(0, slash)
}

function fail(what: string): never {
  throw new InvalidManifestError(`invalid tree index: ${what}`)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

function integer(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(`${name} must be an integer in [${min}, ${max}], got ${typeof v === 'number' ? v : typeof v}`)
  }
  return v
}

function exactKeys(v: Record<string, unknown>, keys: string[], name: string): void {
  const got = Object.keys(v)
  if (got.length !== keys.length || !keys.every((key) => Object.hasOwn(v, key))) {
    fail(`${name} must have exactly ${keys.join(', ')} (got ${got.join(', ')})`)
  }
}

function times(v: Record<string, unknown>, name: string): TreeTimes {
  return {
    mode: integer(v.mode, `${name} mode`, 0, 0o7777),
    mtime: integer(v.mtime, `${name} mtime`, Number.MIN_SAFE_INTEGER),
    mtimeNs: integer(v.mtimeNs, `${name} mtimeNs`, 0, 999_999_999),
  }
}

const DIR_KEYS = ['type', 'path', 'mode', 'mtime', 'mtimeNs']
const FILE_KEYS = [...DIR_KEYS, 'offset', 'size']

/**
 * Validates a tree index (decoded or about to be encoded): the rules in the header of this file. Returns a clean copy
 * and the byte length of the data part its files need. Throws `InvalidManifestError` or `UnsupportedVersionError`.
 */
export function validateTreeIndex(value: unknown): { index: TreeIndex; dataSize: number } {
  if (!isRecord(value)) fail('the top level is not a map')
  if (value.version !== TREE_INDEX_VERSION) {
    if (typeof value.version === 'number') {
      throw new UnsupportedVersionError(
        `tree index version ${value.version} is not supported (this Cairn reads version ${TREE_INDEX_VERSION}): upgrade cairn`,
        { details: { version: value.version } },
      )
    }
    fail('it has no version number')
  }
  exactKeys(value, ['version', 'root', 'entries'], 'the index')
  if (!isRecord(value.root)) fail('root is not a map')
  exactKeys(value.root, ['mode', 'mtime', 'mtimeNs'], 'root')
  const root = times(value.root, 'root')
  if (!Array.isArray(value.entries)) fail('entries is not a list')
  if (value.entries.length > MAX_TREE_ENTRIES) fail(`it has ${value.entries.length} entries, over ${MAX_TREE_ENTRIES}`)
  const kinds = new Map<string, 'dir' | 'file'>([['', 'dir']])
  let dataSize = 0
  const entries = value.entries.map((e: unknown, i: number): TreeEntry => {
    if (!isRecord(e)) fail(`entry ${i} is not a map`)
    const path = checkTreePath(e.path, `entry ${i} path`)
    if (kinds.has(path)) fail(`entry ${i} path ${JSON.stringify(path)} appears twice`)
    const parent = treeParent(path)
    if (kinds.get(parent) !== 'dir') {
      fail(
        `entry ${i} path ${JSON.stringify(path)} comes before its folder ${JSON.stringify(parent)} (or that is a file)`,
      )
    }
    if (e.type === 'dir') {
      exactKeys(e, DIR_KEYS, `entry ${i} (a folder)`)
      kinds.set(path, 'dir')
      return { type: 'dir', path, ...times(e, `entry ${i}`) }
    }
    if (e.type !== 'file') fail(`entry ${i} type must be "file" or "dir"`)
    exactKeys(e, FILE_KEYS, `entry ${i} (a file)`)
    kinds.set(path, 'file')
    const offset = integer(e.offset, `entry ${i} offset`, 0)
    if (offset !== dataSize) fail(`entry ${i} offset ${offset} is not where the previous file ends (${dataSize})`)
    const size = integer(e.size, `entry ${i} size`, 0)
    dataSize += size
    if (!Number.isSafeInteger(dataSize)) fail('the files add up to more bytes than a pack can hold')
    return { type: 'file', path, ...times(e, `entry ${i}`), offset, size }
  })
  return { index: { version: TREE_INDEX_VERSION, root, entries }, dataSize }
}

/**
 * Encodes a tree index (validated first) to DAG-CBOR.
 *
 * @example
 * ```ts
 * const bytes = encodeTreeIndex({ version: 1, root, entries })
 * ```
 */
export function encodeTreeIndex(index: TreeIndex): Uint8Array {
  let checked: TreeIndex
  try {
    checked = validateTreeIndex(index).index
  } catch (cause) {
    throw new InvalidArgumentError((cause as Error).message, { cause })
  }
  return dagCbor.encode(checked)
}

/** Decodes and validates index bytes; throws `InvalidManifestError` (malformed) or `UnsupportedVersionError`. */
export function decodeTreeIndex(bytes: Uint8Array): { index: TreeIndex; dataSize: number } {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (cause) {
    throw new InvalidManifestError(`invalid tree index: not valid DAG-CBOR (${(cause as Error).message})`, { cause })
  }
  return validateTreeIndex(value)
}

/** What a reader says of a Cairn file that is no pack. */
export const NOT_A_TREE =
  'this capability names a file, not a folder stored with `cairn put -r`: read it with `cairn get CAPABILITY -o FILE`'

/** The 16-byte pack header for an index of `indexLength` bytes. */
export function encodeTreeHeader(indexLength: number): Uint8Array {
  const header = new Uint8Array(TREE_HEADER_SIZE)
  header.set(TREE_MAGIC, 0)
  new DataView(header.buffer).setBigUint64(8, BigInt(indexLength))
  return header
}

/**
 * Reads a pack header; returns the index length. Throws `InvalidArgumentError` when the bytes are no pack (a plain
 * file), `InvalidManifestError` when the length is impossible.
 */
export function decodeTreeHeader(header: Uint8Array): number {
  if (header.byteLength < TREE_HEADER_SIZE || !TREE_MAGIC.every((b, i) => header[i] === b)) {
    throw new InvalidArgumentError(NOT_A_TREE)
  }
  const length = new DataView(header.buffer, header.byteOffset, TREE_HEADER_SIZE).getBigUint64(8)
  if (length > BigInt(MAX_TREE_INDEX_SIZE)) {
    fail(`the header gives an index of ${length} bytes, over the ${MAX_TREE_INDEX_SIZE} limit`)
  }
  return Number(length)
}
