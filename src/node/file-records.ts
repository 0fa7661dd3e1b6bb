import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { FileRecord, FileRecordStore } from './interface.ts'

export interface FileRecordStoreInit {
  /** A JSON-lines file, created (0600) on first add. It holds capabilities, i.e. keys: keep it private. */
  path: string
}

/**
 * The client's local record of the files it put (for `cairn ls` and to know slot holders without asking around).
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
  }
}

class JsonLinesFileRecordStore implements FileRecordStore {
  readonly #path: string

  constructor(path: string) {
    this.#path = path
  }

  async add(record: FileRecord): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 })
    await appendFile(this.#path, `${JSON.stringify(record)}\n`, { mode: 0o600 })
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
    const out: FileRecord[] = []
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      try {
        const record = JSON.parse(line) as FileRecord
        if (typeof record.manifestCid === 'string' && Array.isArray(record.slots)) out.push(record)
      } catch {
        // A torn last line after a crash: skip it.
      }
    }
    return out
  }
}
