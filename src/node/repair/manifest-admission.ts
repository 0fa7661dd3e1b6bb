/**
 * Which stored manifests the repair service tracks. Any peer can store a piece that decodes as a manifest; tracking
 * it makes this node watch, probe and repair the file's slots, so a forged k = 1, n = 255 manifest would make it push
 * 254 "lost" slots to others. A manifest is tracked only when `isAcceptedManifest` says so (with a chain: a deal this
 * node accepted a slot of), its n is within `maxFileSlots`, and the tracked files stay within `maxFiles` and
 * `maxTrackedManifestBytes`; one this node holds no slot of yet is adopted (a repairer sending it a slot) within
 * `maxAdopting`.
 */
import type { CID } from 'multiformats/cid'
import type { Manifest } from '../../storage/index.ts'
import {
  DEFAULT_REPAIR_MAX_ADOPTING,
  DEFAULT_REPAIR_MAX_FILE_SLOTS,
  DEFAULT_REPAIR_MAX_FILES,
  DEFAULT_REPAIR_MAX_TRACKED_MANIFEST_BYTES,
} from './constants.ts'
import type { RepairContext } from './repair-context.ts'
import { errorText } from './repair-log.ts'

/**
 * Undefined when the manifest may be tracked, else why not (the text of a `repair:file-ignored` event). `adopting`:
 * this node holds no piece of the file yet.
 */
export async function manifestRefusal(
  context: RepairContext,
  manifestCid: CID,
  manifest: Manifest,
  bytes: Uint8Array,
  adopting: boolean,
): Promise<string | undefined> {
  const init = context.init
  const maxSlots = init.maxFileSlots ?? DEFAULT_REPAIR_MAX_FILE_SLOTS
  if (manifest.n > maxSlots) {
    return `n = ${manifest.n} is above the ${maxSlots} slots a node repairs per file (repair option maxFileSlots)`
  }
  const maxFiles = init.maxFiles ?? DEFAULT_REPAIR_MAX_FILES
  if (context.files.size >= maxFiles) return `${context.files.size} files are tracked already (maxFiles ${maxFiles})`
  const maxBytes = init.maxTrackedManifestBytes ?? DEFAULT_REPAIR_MAX_TRACKED_MANIFEST_BYTES
  let held = bytes.byteLength
  for (const file of context.files.values()) held += file.manifestBytes.byteLength
  if (held > maxBytes) return `tracked manifests would hold ${held} bytes (maxTrackedManifestBytes ${maxBytes})`
  if (adopting) {
    const maxAdopting = init.maxAdopting ?? DEFAULT_REPAIR_MAX_ADOPTING
    const count = [...context.files.values()].filter((f) => f.adoptingSince !== undefined).length
    if (count >= maxAdopting) return `${count} files are being adopted already (maxAdopting ${maxAdopting})`
  }
  try {
    if (!(await (init.isAcceptedManifest?.(manifestCid) ?? true))) return 'this node accepted no slot of this file'
  } catch (err) {
    return `could not tell whether this node accepted a slot of this file: ${errorText(err)}`
  }
  return undefined
}
