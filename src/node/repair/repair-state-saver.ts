/**
 * The repair service's state across restarts: the tracked files saved to `dataDir/repair.json` shortly after they
 * change (and on stop), and read back on start with their manifests from the piece store.
 */
import { CID } from 'multiformats/cid'
import { decodeManifest, type Manifest, manifestPieceCid, type PieceStore } from '../../storage/index.ts'
import { wallFromMonotonic } from '../monotonic-clock.ts'
import { type RepairFileRecord, readRepairState, writeRepairState } from './repair-state-file.ts'
import type { TrackedFile } from './tracked-file.ts'

/** Saves the tracked files' records, at most once per 200 ms when queued. */
export class RepairStateSaver {
  readonly #dataDir: string | undefined
  readonly #files: () => Iterable<TrackedFile>
  #queued = false

  constructor(dataDir: string | undefined, files: () => Iterable<TrackedFile>) {
    this.#dataDir = dataDir
    this.#files = files
  }

  /** Saves soon (once for every change in the next 200 ms). */
  queue(): void {
    if (this.#queued || this.#dataDir === undefined) return
    this.#queued = true
    setTimeout(() => {
      this.#queued = false
      this.save().catch(() => {})
    }, 200).unref()
  }

  /** Saves now. */
  async save(): Promise<void> {
    if (this.#dataDir === undefined) return
    const records: RepairFileRecord[] = [...this.#files()].map((f) => ({
      manifestCid: f.key,
      mySlots: [...f.mySlots],
      holders: f.holders,
      ...(f.adoptingSince === undefined ? {} : { adoptingSince: wallFromMonotonic(f.adoptingSince) }),
    }))
    await writeRepairState(this.#dataDir, records)
  }
}

/** A saved file with its manifest read back from the store. */
export interface RestoredFile {
  manifestCid: CID
  manifest: Manifest
  bytes: Uint8Array
  record: RepairFileRecord
}

/**
 * The files saved in `dataDir`, each with its manifest from `store`; a record whose manifest is gone or unreadable is
 * skipped (the node rediscovers the file when the manifest comes again).
 */
export async function restoreTrackedFiles(
  dataDir: string | undefined,
  store: Pick<PieceStore, 'get'>,
): Promise<RestoredFile[]> {
  const records = dataDir === undefined ? [] : await readRepairState(dataDir)
  const out: RestoredFile[] = []
  for (const record of records) {
    try {
      const manifestCid = CID.parse(record.manifestCid)
      const bytes = await store.get(manifestPieceCid(manifestCid))
      out.push({ manifestCid, manifest: decodeManifest(bytes, manifestCid), bytes, record })
    } catch {}
  }
  return out
}
