/**
 * The repair event log (`dataDir/repair.jsonl`): one JSON line per event, appended in order, the file moved to
 * `repair.jsonl.1` once over `REPAIR_LOG_MAX_BYTES`. Writing never fails the service.
 */
import { appendFile, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { REPAIR_LOG_FILE, REPAIR_LOG_MAX_BYTES } from './constants.ts'
import type { RepairEvent } from './interface.ts'

/** Appends repair events to the log of a data dir (nothing when there is none). */
export class RepairLog {
  readonly #dataDir: string | undefined
  #writing: Promise<void> = Promise.resolve()

  constructor(dataDir: string | undefined) {
    this.#dataDir = dataDir
  }

  /** Queues one event, stamped with the time, after the ones before it. */
  append(event: RepairEvent): void {
    const dir = this.#dataDir
    if (dir === undefined) return
    const line = `${JSON.stringify({ at: Date.now(), ...event })}\n`
    const path = join(dir, REPAIR_LOG_FILE)
    this.#writing = this.#writing.then(async () => {
      try {
        if (((await stat(path).catch(() => undefined))?.size ?? 0) > REPAIR_LOG_MAX_BYTES) {
          await rename(path, `${path}.1`)
        }
        await appendFile(path, line)
      } catch {}
    })
  }

  /** Resolves once every event queued so far is written (or given up on). */
  async flushed(): Promise<void> {
    await this.#writing
  }
}

/** The text an event carries for an error. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
