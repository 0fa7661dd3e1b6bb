/**
 * The slots a node rebuilt off-chain and has yet to take over on chain (`dataDir/chain-repairs.json`), so a restart
 * between the off-chain repair and the slot opening on chain does not forget them.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurable } from '../../storage/index.ts'
import { CHAIN_REPAIRS_FILE } from '../index.ts'

/** One slot waiting to be taken over on chain. */
export interface PendingChainRepair {
  manifestCid: string
  slot: number
  /** The chain epoch when the node first looked at it (the repair is given up some epochs later). */
  firstEpoch?: number
}

/** Reads the pending repairs; a missing or unreadable file is none. */
export async function readChainRepairs(dataDir: string): Promise<PendingChainRepair[]> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, CHAIN_REPAIRS_FILE), 'utf8')) as { repairs?: unknown }
    if (!Array.isArray(parsed.repairs)) return []
    return parsed.repairs.filter(
      (r): r is PendingChainRepair =>
        typeof r === 'object' &&
        r !== null &&
        typeof (r as PendingChainRepair).manifestCid === 'string' &&
        Number.isInteger((r as PendingChainRepair).slot),
    )
  } catch {
    return []
  }
}

/** Writes the pending repairs atomically (temp file + rename). */
export async function writeChainRepairs(dataDir: string, repairs: PendingChainRepair[]): Promise<void> {
  await writeFileDurable(join(dataDir, CHAIN_REPAIRS_FILE), `${JSON.stringify({ repairs }, null, 1)}\n`)
}
