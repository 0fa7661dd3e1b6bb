/**
 * A piece store on disk.
 *
 * Layout under `path`:
 * ```
 * pieces/<d0>/<d1>/<cid>   d0, d1 = hex of the first two bytes of the piece's sha256 (65,536 folders at most)
 * tmp/                     writes in progress; emptied on start
 * corrupt/                 pieces that failed verification on read, moved aside (out of the usage count)
 * usage.json               { pieces, bytes, clean }: trusted on start only when the last stop was clean
 * LOCK                     pid of the process that has the store open
 * ```
 * A write goes to tmp/, is fsynced, renamed into place and its folder fsynced: a crash leaves either no piece or a
 * whole one. A put over an existing file rewrites it unless it holds exactly the piece's bytes. Every read is verified against the CID; a corrupt piece is moved aside and reported as
 * `CorruptDataError` (the caller repairs it), never served. After an unclean stop the usage is recounted from disk.
 */
import { randomBytes } from 'node:crypto'
import { open, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import {
  CairnError,
  CorruptDataError,
  InvalidArgumentError,
  NotFoundError,
  QuotaExceededError,
  throwIfAborted,
} from '../errors.ts'
import { crashPoint } from './crash-point.ts'
import { mkdirDurable, syncFolder } from './durable-file.ts'
import type { AbortOptions, PieceStore, StoreUsage } from './interface.ts'
import { isPieceCid, verifyPiece } from './piece-cid.ts'

export interface FsPieceStoreInit {
  /** Folder of the store; created on start. */
  path: string
  /** Bytes of piece data the store may hold; unlimited by default. */
  quota?: number
}

export type FsPieceStore = PieceStore & {
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * When the piece was last stored (ms, the file's mtime; a put of bytes already held renews it) and its size, or
   * undefined when the store does not hold it: the garbage collector keeps pieces younger than its grace period.
   */
  stat(cid: CID): Promise<{ storedAt: number; bytes: number } | undefined>
}

/** Shard folders remembered as created, or being created (saves a mkdir call per put). */
const MADE_DIRS_CACHE = 4096

const hex = (b: number | undefined) => (b ?? 0).toString(16).padStart(2, '0')

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException)?.code === code
}

async function writeFileDurably(path: string, data: Uint8Array | string, tmpDir: string): Promise<void> {
  const tmp = join(tmpDir, `${randomBytes(8).toString('hex')}.tmp`)
  const handle = await open(tmp, 'wx', 0o600)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  crashPoint('piece-store:temp-written')
  await rename(tmp, path)
  crashPoint('piece-store:renamed')
}

/** True when the file at `path` holds exactly `bytes`. */
async function holdsBytes(path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return (await readFile(path)).equals(bytes)
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false
    throw error
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return isErrno(error, 'EPERM')
  }
}

class FsPieceStoreImpl implements FsPieceStore {
  readonly #root: string
  readonly #quota: number
  readonly #inflight = new Map<string, Promise<void>>()
  readonly #madeDirs = new Map<string, Promise<void>>()
  #pieces = 0
  #bytes = 0
  #reserved = 0
  #started = false

  constructor(init: FsPieceStoreInit) {
    this.#root = init.path
    this.#quota = init.quota ?? Number.POSITIVE_INFINITY
  }

  get #piecesDir() {
    return join(this.#root, 'pieces')
  }
  get #tmpDir() {
    return join(this.#root, 'tmp')
  }

  #location(cid: CID): { dir: string; file: string; key: string } {
    if (!isPieceCid(cid)) throw new InvalidArgumentError(`${String(cid)} is not a piece CID (CIDv1, raw, sha2-256)`)
    const digest = cid.multihash.digest
    const key = cid.toString()
    const dir = join(this.#piecesDir, hex(digest[0]), hex(digest[1]))
    return { dir, file: join(dir, key), key }
  }

  #assertStarted() {
    if (!this.#started) throw new CairnError('the piece store is not started: call start() first')
  }

  async start(): Promise<void> {
    if (this.#started) return
    await mkdirDurable(this.#piecesDir)
    await rm(this.#tmpDir, { recursive: true, force: true })
    await mkdirDurable(this.#tmpDir)
    await mkdirDurable(join(this.#root, 'corrupt'))
    await this.#lock()
    let saved: { pieces?: unknown; bytes?: unknown; clean?: unknown } | undefined
    try {
      saved = JSON.parse(await readFile(join(this.#root, 'usage.json'), 'utf8'))
    } catch {
      saved = undefined
    }
    if (saved?.clean === true && typeof saved.pieces === 'number' && typeof saved.bytes === 'number') {
      this.#pieces = saved.pieces
      this.#bytes = saved.bytes
    } else {
      await this.#recount()
    }
    await this.#saveUsage(false)
    this.#started = true
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    await Promise.allSettled(this.#inflight.values())
    await this.#saveUsage(true)
    await rm(join(this.#root, 'LOCK'), { force: true })
  }

  async #lock(): Promise<void> {
    const lock = join(this.#root, 'LOCK')
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(lock, String(process.pid), { flag: 'wx' })
        return
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error
      }
      const pid = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10)
      if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) {
        throw new CairnError(`the piece store at ${this.#root} is open in process ${pid}`, { details: { pid } })
      }
      await rm(lock, { force: true })
    }
    throw new CairnError(`could not lock the piece store at ${this.#root}`)
  }

  async #saveUsage(clean: boolean): Promise<void> {
    const body = JSON.stringify({ pieces: this.#pieces, bytes: this.#bytes, clean })
    await writeFileDurably(join(this.#root, 'usage.json'), body, this.#tmpDir)
    await syncFolder(this.#root)
  }

  async #recount(): Promise<void> {
    let pieces = 0
    let bytes = 0
    for await (const { file } of this.#walk()) {
      try {
        bytes += (await stat(file)).size
        pieces++
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error
      }
    }
    this.#pieces = pieces
    this.#bytes = bytes
  }

  async *#walk(signal?: AbortSignal): AsyncGenerator<{ cid: CID; file: string }> {
    const level = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort()
    for (const a of await level(this.#piecesDir)) {
      for (const b of await level(join(this.#piecesDir, a))) {
        for (const name of await level(join(this.#piecesDir, a, b))) {
          throwIfAborted(signal)
          let cid: CID
          try {
            cid = CID.parse(name)
          } catch {
            continue
          }
          if (isPieceCid(cid)) yield { cid, file: join(this.#piecesDir, a, b, name) }
        }
      }
    }
  }

  async put(cid: CID, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    this.#assertStarted()
    throwIfAborted(options.signal)
    const location = this.#location(cid)
    verifyPiece(cid, bytes)
    // Concurrent writers of one piece: the first writes, the others wait for it.
    for (
      let running = this.#inflight.get(location.key);
      running !== undefined;
      running = this.#inflight.get(location.key)
    ) {
      await running.catch(() => {})
    }
    const write = this.#write(location, bytes)
    this.#inflight.set(location.key, write)
    try {
      await write
    } finally {
      if (this.#inflight.get(location.key) === write) this.#inflight.delete(location.key)
    }
  }

  async #write(location: { dir: string; file: string }, bytes: Uint8Array): Promise<void> {
    let existing: number | undefined
    try {
      existing = (await stat(location.file)).size
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error
    }
    // A file of the right size is acknowledged only when it holds these very bytes (it may have rotted, or been
    // zeroed by a crash): `bytes` matched the CID, so equal bytes on disk are the piece. Otherwise it is rewritten.
    // Its mtime is renewed: a piece stored again is young for the garbage collector, as a new one would be.
    if (existing === bytes.byteLength && (await holdsBytes(location.file, bytes))) {
      const now = new Date()
      await utimes(location.file, now, now).catch(() => {})
      return
    }
    const growth = bytes.byteLength - (existing ?? 0)
    if (growth > 0 && this.#bytes + this.#reserved + growth > this.#quota) {
      throw new QuotaExceededError(
        `storing ${bytes.byteLength} bytes would pass the quota of ${this.#quota} bytes (${this.#bytes} used)`,
        { details: { quota: this.#quota, used: this.#bytes, size: bytes.byteLength } },
      )
    }
    this.#reserved += Math.max(0, growth)
    try {
      await this.#makeDir(location.dir)
      await writeFileDurably(location.file, bytes, this.#tmpDir)
      await syncFolder(location.dir)
      this.#bytes += growth
      if (existing === undefined) this.#pieces++
    } finally {
      this.#reserved -= Math.max(0, growth)
    }
  }

  /**
   * Creates a shard folder durably, once: concurrent puts into a new folder all wait for the one fsync of its parents,
   * so none is acknowledged before the folder itself is on disk.
   */
  async #makeDir(dir: string): Promise<void> {
    let made = this.#madeDirs.get(dir)
    if (made === undefined) {
      if (this.#madeDirs.size >= MADE_DIRS_CACHE) this.#madeDirs.clear() // bounded memory; mkdirDurable is idempotent
      made = mkdirDurable(dir)
      this.#madeDirs.set(dir, made)
      made.catch(() => this.#madeDirs.delete(dir))
    }
    await made
  }

  async get(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    this.#assertStarted()
    throwIfAborted(options.signal)
    const location = this.#location(cid)
    let bytes: Buffer
    try {
      bytes = await readFile(location.file, options.signal === undefined ? {} : { signal: options.signal })
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw new NotFoundError(`piece ${location.key} is not in this store`)
      throw error
    }
    try {
      verifyPiece(cid, bytes)
    } catch (error) {
      await this.#quarantine(location, bytes.byteLength)
      throw new CorruptDataError(`piece ${location.key} is corrupt on disk and was moved aside; fetch it again`, {
        cause: error,
        details: { cid: location.key, size: bytes.byteLength },
      })
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  async #quarantine(location: { file: string; key: string }, size: number): Promise<void> {
    try {
      await rename(location.file, join(this.#root, 'corrupt', `${location.key}.${Date.now()}`))
      this.#pieces--
      this.#bytes -= size
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error
    }
  }

  async has(cid: CID, options: AbortOptions = {}): Promise<boolean> {
    this.#assertStarted()
    throwIfAborted(options.signal)
    try {
      await stat(this.#location(cid).file)
      return true
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false
      throw error
    }
  }

  async stat(cid: CID): Promise<{ storedAt: number; bytes: number } | undefined> {
    this.#assertStarted()
    try {
      const found = await stat(this.#location(cid).file)
      return { storedAt: found.mtimeMs, bytes: found.size }
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined
      throw error
    }
  }

  async delete(cid: CID, options: AbortOptions = {}): Promise<void> {
    this.#assertStarted()
    throwIfAborted(options.signal)
    const location = this.#location(cid)
    await this.#inflight.get(location.key)?.catch(() => {})
    try {
      const { size } = await stat(location.file)
      await unlink(location.file)
      this.#pieces--
      this.#bytes -= size
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error
    }
  }

  async *list(options: AbortOptions = {}): AsyncIterable<CID> {
    this.#assertStarted()
    for await (const { cid } of this.#walk(options.signal)) yield cid
  }

  usage(): StoreUsage {
    return { pieces: this.#pieces, bytes: this.#bytes, quota: this.#quota }
  }
}

/**
 * Creates a piece store in a folder. Call `start()` before use and `stop()` when done (it records the usage).
 *
 * @example
 * ```ts
 * const store = createFsPieceStore({ path: '/var/lib/cairn/pieces', quota: 100e9 })
 * await store.start()
 * await store.put(cid, bytes)
 * await store.stop()
 * ```
 */
export function createFsPieceStore(init: FsPieceStoreInit): FsPieceStore {
  if (typeof init?.path !== 'string' || init.path === '') throw new InvalidArgumentError('a piece store needs a path')
  if (init.quota !== undefined && !(init.quota >= 0)) throw new InvalidArgumentError('quota must be >= 0')
  return new FsPieceStoreImpl(init)
}
