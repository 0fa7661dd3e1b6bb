import { open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { crashPoint, mkdirDurable } from '../storage/index.ts'
import type { FileRecord, FileRecordStore } from './interface.ts'

export interface FileRecordStoreInit {
  /** A JSON-lines file, created (0600) on first add. It holds capabilities, i.e. keys: keep it private. */
  path: string
}

/**
 * The client's local record of the files it put (for `cairn ls` and to know slot holders without asking around): one
 * JSON line per file put, and a tombstone line (`{"forget": manifestCid}`) per file removed (`cairn rm`), appended
 * and fsynced, so a crash never loses or resurrects an entry.
 *
 * @example
 * ```ts
 * const records = createFileRecordStore({ path: join(home, 'files.jsonl') })
 * await records.add({ capability, manifestCid, size, k, n, slots, storedAt: Date.now() })
 * ```
 */
export function createFileRecordStore(init: FileRecordStoreInit): FileRecordStore {
  return new JsonLinesFileRecordStore(init.path)
}

/** A record store that keeps nothing (a client with no home folder). */
export function createMemoryFileRecordStore(): FileRecordStore {
  const records: FileRecord[] = []
  return {
    add: async (record) => {
      records.push(record)
    },
    find: async (manifestCid) => records.findLast((r) => r.manifestCid === manifestCid),
    list: async () => [...records],
    forget: async (manifestCid) => {
      const before = records.length
      for (let i = records.length - 1; i >= 0; i--) if (records[i]!.manifestCid === manifestCid) records.splice(i, 1)
      return records.length < before
    },
  }
}

/** A line that forgets every earlier record of a file (a later record of it shows again). */
interface Tombstone {
  forget: string
  at: number
}

class JsonLinesFileRecordStore implements FileRecordStore {
  readonly #path: string

  constructor(path: string) {
    this.#path = path
  }

  async add(record: FileRecord): Promise<void> {
    await this.#append(record)
  }

  async forget(manifestCid: string): Promise<boolean> {
    if ((await this.find(manifestCid)) === undefined) return false
    await this.#append({ forget: manifestCid, at: Date.now() })
    return true
  }

  async #append(entry: FileRecord | Tombstone): Promise<void> {
    await mkdirDurable(dirname(this.#path), { mode: 0o700 })
    // The record holds the file's key: durable before put returns. After a crash that tore the last line, the new
    // record starts on a line of its own so that it stays readable.
    const handle = await open(this.#path, 'a+', 0o600)
    try {
      const { size } = await handle.stat()
      const last = Buffer.alloc(1)
      if (size > 0) await handle.read(last, 0, 1, size - 1)
      const line = `${size > 0 && last[0] !== 0x0a ? '\n' : ''}${JSON.stringify(entry)}\n`
      await handle.appendFile(line)
      await handle.sync()
      crashPoint('file-records:appended')
    } finally {
      await handle.close()
    }
  }

  async find(manifestCid: string): Promise<FileRecord | undefined> {
    return (await this.list()).findLast((r) => r.manifestCid === manifestCid)
  }

  async list(): Promise<FileRecord[]> {
    let text: string
    try {
      text = await readFile(this.#path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    let out: FileRecord[] = []
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      try {
        const entry = JSON.parse(line) as FileRecord | Tombstone
        if ('forget' in entry && typeof entry.forget === 'string') {
          out = out.filter((r) => r.manifestCid !== entry.forget)
        } else if ('manifestCid' in entry && typeof entry.manifestCid === 'string' && Array.isArray(entry.slots)) {
          out.push(entry)
        }
      } catch {
        // A torn last line after a crash: skip it.
      }
    }
    return out
  }
}
