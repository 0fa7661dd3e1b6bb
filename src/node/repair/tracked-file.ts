/**
 * A file the repair service tracks: its manifest, which slots this node holds, who holds the others, and the clocks of
 * its lost slots. Plus the record of a slot repair in flight and where a piece of this node's slots sits.
 */
import { CID } from 'multiformats/cid'
import { createErasureCoder, type ErasureCoder, type Manifest } from '../../storage/index.ts'
import { monotonicFromWall } from '../monotonic-clock.ts'
import type { RepairFileRecord } from './repair-state-file.ts'

const DAG_CBOR_CODE = 0x71

/** One file this node holds pieces of (or is receiving a slot of), as the repair service keeps it in memory. */
export interface TrackedFile {
  /** Manifest CID (text, dag-cbor). */
  key: string
  manifestCid: CID
  manifest: Manifest
  manifestBytes: Uint8Array
  /** Undefined for k = 1 (copies). */
  coder: ErasureCoder | undefined
  mySlots: Set<number>
  /** The live holder assigned to each slot (null: lost). */
  holders: Array<string | null>
  /** Every peer that answered holding each slot's first piece, at the last refresh. */
  holdersOf: string[][]
  /**
   * Times below are ms on the node's monotonic clock (monotonic-clock.ts), so that a wall-clock step neither fires a
   * repair early nor puts it off. When the placement was last refreshed; 0 until the first refresh.
   */
  refreshedAt: number
  /** When each lost slot was first seen lost. */
  lostSince: Map<number, number>
  /** Before when a slot's repair is not tried again. */
  retryAfter: Map<number, number>
  failedTargets: Set<string>
  /** Since when this node is adopting the file (saved as wall-clock time in the repair state). */
  adoptingSince: number | undefined
  scrubCursor: number
  /** When each slot repair of this file started, within the last repair period (the per-file budget). */
  repairStarts: number[]
  /**
   * Another holder's repair of a lost slot seen in flight: its target, how many sampled pieces it held at the last
   * look that saw them grow (`at`), and when this target was first seen (`since`).
   */
  inFlight: Map<number, { target: string; held: number; at: number; since: number }>
}

/** A slot repair this node runs. */
export interface ActiveRepair {
  target: string
  done: number
  pieces: number
  /** ms since the epoch */
  startedAt: number
}

/** Where a piece of this node's slots sits in its file. */
export interface PieceLocation {
  /** The file's key (manifest CID text). */
  key: string
  segment: number
  slot: number
}

/** The key of a file by its manifest CID in any codec of the same multihash (the raw piece CID of the manifest too). */
export function trackedFileKey(manifestCid: CID): string {
  return manifestCidOf(manifestCid).toString()
}

/** The dag-cbor manifest CID of a CID of the same multihash. */
export function manifestCidOf(cid: CID): CID {
  return CID.createV1(DAG_CBOR_CODE, cid.multihash)
}

/** A new tracked file, from its repair state record when the node knew it before a restart. */
export function createTrackedFile(
  manifestCid: CID,
  manifest: Manifest,
  bytes: Uint8Array,
  record: RepairFileRecord | undefined,
): TrackedFile {
  return {
    key: manifestCid.toString(),
    manifestCid,
    manifest,
    manifestBytes: bytes,
    coder: manifest.k > 1 ? createErasureCoder({ k: manifest.k, n: manifest.n }) : undefined,
    mySlots: new Set(record?.mySlots ?? []),
    holders: manifest.slots.map((_, slot) => record?.holders[slot] ?? null),
    holdersOf: manifest.slots.map(() => []),
    refreshedAt: 0,
    lostSince: new Map(),
    retryAfter: new Map(),
    failedTargets: new Set(),
    adoptingSince: record?.adoptingSince === undefined ? undefined : monotonicFromWall(record.adoptingSince),
    scrubCursor: 0,
    repairStarts: [],
    inFlight: new Map(),
  }
}
