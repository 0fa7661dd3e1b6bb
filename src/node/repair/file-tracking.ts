/**
 * How the repair service learns files: a manifest stored on this node (the manifest bytes reach every slot holder)
 * starts tracking its file once admitted (manifest-admission.ts), and every piece of this node's slots is indexed so
 * a failed read of it can be healed.
 */
import type { CID } from 'multiformats/cid'
import { decodeManifest, type Manifest } from '../../storage/index.ts'
import { monotonicNow } from '../monotonic-clock.ts'
import { manifestRefusal } from './manifest-admission.ts'
import type { RepairContext } from './repair-context.ts'
import type { RepairFileRecord } from './repair-state-file.ts'
import { createTrackedFile, manifestCidOf, type TrackedFile } from './tracked-file.ts'

/** Starts tracking a file (replacing what was known of it) and indexes the pieces of this node's slots. */
export function trackFile(
  context: RepairContext,
  manifestCid: CID,
  manifest: Manifest,
  bytes: Uint8Array,
  record: RepairFileRecord | undefined,
): TrackedFile {
  const file = createTrackedFile(manifestCid, manifest, bytes, record)
  context.files.set(file.key, file)
  indexSlots(context, file)
  return file
}

/** Stops tracking a file and drops its pieces from the index. */
export function untrackFile(context: RepairContext, file: TrackedFile): void {
  context.files.delete(file.key)
  for (const [cid, where] of context.index) if (where.key === file.key) context.index.delete(cid)
  context.queueSave()
}

/** Indexes every piece of the file's slots this node holds (piece CID -> file, segment, slot). */
export function indexSlots(context: RepairContext, file: TrackedFile): void {
  for (const slot of file.mySlots) {
    file.manifest.segments.forEach((segment, index) => {
      context.index.set(segment.pieces[slot]!.toString(), { key: file.key, segment: index, slot })
    })
  }
}

/**
 * A piece that may be a manifest was stored (`cid` is its raw piece CID): tracks its file unless known already or
 * refused (`repair:file-ignored`). A manifest stored before any piece of its file marks the file as being adopted (a
 * repairer is sending this node a slot; a put sends the manifest last). Resolves once decided.
 */
export async function registerStoredManifest(context: RepairContext, cid: CID, bytes: Uint8Array): Promise<void> {
  const manifestCid = manifestCidOf(cid)
  const key = manifestCid.toString()
  if (context.files.has(key) || context.admitting.has(key)) return
  let manifest: Manifest
  try {
    manifest = decodeManifest(bytes, manifestCid)
  } catch {
    return // an ordinary piece that happened to start like a CBOR map
  }
  context.admitting.add(key)
  try {
    const first = manifest.segments[0]!.pieces
    const held = await Promise.all(first.map((p) => context.store.has(p).catch(() => false)))
    const adopting = !held.some(Boolean)
    const refusal = await manifestRefusal(context, manifestCid, manifest, bytes, adopting)
    if (refusal !== undefined) {
      context.emit({ type: 'repair:file-ignored', manifestCid: key, reason: refusal })
      return
    }
    if (context.files.has(key)) return
    const file = trackFile(context, manifestCid, manifest, bytes, undefined)
    if (adopting) file.adoptingSince = monotonicNow()
    context.emit({
      type: 'repair:file-known',
      manifestCid: file.key,
      slots: held.flatMap((h, slot) => (h ? [slot] : [])),
      adopting,
    })
    context.queueSave()
  } finally {
    context.admitting.delete(key)
  }
}
