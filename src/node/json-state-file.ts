/**
 * A small JSON state file in a node's data dir (the repair service's `repair.json`, the chain service's
 * `chain-repairs.json`): read tolerant of a missing or damaged file, written durably (temp file, fsync, rename).
 */
import { readFile } from 'node:fs/promises'
import { crashPoint, writeFileDurable } from '../storage/index.ts'

/**
 * Reads a JSON state file and hands its value to `parse`; a missing or unreadable file, invalid JSON, a value `parse`
 * rejects (returns undefined) or a `parse` that throws all give undefined, so the caller starts from an empty state.
 *
 * @example
 * ```ts
 * const repairs = (await readJsonState(join(dataDir, 'chain-repairs.json'), parseRepairs)) ?? []
 * ```
 */
export async function readJsonState<T>(path: string, parse: (value: unknown) => T | undefined): Promise<T | undefined> {
  try {
    return parse(JSON.parse(await readFile(path, 'utf8')))
  } catch {
    return undefined
  }
}

/**
 * Writes a JSON state file durably and atomically (indented by one space, ending with a newline).
 *
 * @example
 * ```ts
 * await writeJsonState(join(dataDir, 'chain-repairs.json'), { repairs })
 * ```
 */
export async function writeJsonState(path: string, value: unknown): Promise<void> {
  await writeFileDurable(path, `${JSON.stringify(value, null, 1)}\n`)
  crashPoint('state-file:written')
}
