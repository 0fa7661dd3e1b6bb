/**
 * The repair service's memory across restarts (`dataDir/repair.json`): the files this node holds pieces of, which
 * slots it holds, and the last known holder of every slot. The manifests themselves stay in the piece store.
 */
import { join } from 'node:path'
import { readJsonState, writeJsonState } from '../json-state-file.ts'
import { REPAIR_STATE_FILE } from './constants.ts'

/** One file in the repair state. */
export interface RepairFileRecord {
  manifestCid: string
  /** Slots this node holds. */
  mySlots: number[]
  /** Last known live holder per slot (null: none known). */
  holders: Array<string | null>
  /** Set while this node is receiving a slot someone else is rebuilding for it (the time the manifest came, ms since the Unix epoch). */
  adoptingSince?: number
}

/** Reads the repair state; a missing or unreadable file is an empty state (the node rediscovers its files). */
export async function readRepairState(dataDir: string): Promise<RepairFileRecord[]> {
  return (await readJsonState(join(dataDir, REPAIR_STATE_FILE), parseRepairState)) ?? []
}

/** Writes the repair state atomically (temp file + rename). */
export async function writeRepairState(dataDir: string, files: RepairFileRecord[]): Promise<void> {
  await writeJsonState(join(dataDir, REPAIR_STATE_FILE), { files })
}

/** The well-formed file records of a parsed `repair.json`; undefined when it has no `files` list. */
function parseRepairState(value: unknown): RepairFileRecord[] | undefined {
  const files = (value as { files?: unknown } | null)?.files
  if (!Array.isArray(files)) return undefined
  return files.filter(
    (f): f is RepairFileRecord =>
      typeof f === 'object' &&
      f !== null &&
      typeof (f as RepairFileRecord).manifestCid === 'string' &&
      Array.isArray((f as RepairFileRecord).mySlots) &&
      Array.isArray((f as RepairFileRecord).holders),
  )
}
