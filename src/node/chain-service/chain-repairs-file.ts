/**
 * The slots a node rebuilt off-chain and has yet to take over on chain (`dataDir/chain-repairs.json`), so a restart
 * between the off-chain repair and the slot opening on chain does not forget them.
 */
import { join } from 'node:path'
import { readJsonState, writeJsonState } from '../json-state-file.ts'
import { CHAIN_REPAIRS_FILE } from './constants.ts'
import type { PendingChainRepair } from './interface.ts'

/** Reads the pending repairs; a missing or unreadable file is none. */
export async function readChainRepairs(dataDir: string): Promise<PendingChainRepair[]> {
  return (await readJsonState(join(dataDir, CHAIN_REPAIRS_FILE), parseChainRepairs)) ?? []
}

/** Writes the pending repairs atomically (temp file + rename). */
export async function writeChainRepairs(dataDir: string, repairs: PendingChainRepair[]): Promise<void> {
  await writeJsonState(join(dataDir, CHAIN_REPAIRS_FILE), { repairs })
}

/** The well-formed entries of a parsed `chain-repairs.json`; undefined when it has no `repairs` list. */
function parseChainRepairs(value: unknown): PendingChainRepair[] | undefined {
  const repairs = (value as { repairs?: unknown } | null)?.repairs
  if (!Array.isArray(repairs)) return undefined
  return repairs.filter(
    (r): r is PendingChainRepair =>
      typeof r === 'object' &&
      r !== null &&
      typeof (r as PendingChainRepair).manifestCid === 'string' &&
      Number.isInteger((r as PendingChainRepair).slot),
  )
}
