/**
 * How the repair service learns files: a manifest stored on this node (the manifest bytes reach every slot holder)
 * starts tracking its file, and every piece of this node's slots is indexed so a failed read of it can be healed.
 */
import type { CID } from 'multiformats/cid'
import { decodeManifest, type Manifest } from '../../storage/index.ts'
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

/** Indexes every piece of the file's slots this node holds (piece CID -> file, segment, slot). */
export function indexSlots(context: RepairContext, file: TrackedFile): void {
  for (const slot of file.mySlots) {
    file.manifest.segments.forEach((segment, index) => {
      context.index.set(segment.pieces[slot]!.toString(), { key: file.key, segment: index, slot })
    })
  }
}

/**
 * A piece that may be a manifest was stored (`cid` is its raw piece CID): tracks its file unless known already. A
 * manifest stored before any piece of its file marks the file as being adopted (a repairer is sending this node a
 * slot; a put sends the manifest last).
 */
export function registerStoredManifest(context: RepairContext, cid: CID, bytes: Uint8Array): void {
  const manifestCid = manifestCidOf(cid)
  if (context.files.has(manifestCid.toString())) return
  let manifest: Manifest
  try {
    manifest = decodeManifest(bytes, manifestCid)
  } catch {
    return // an ordinary piece that happened to start like a CBOR map
  }
  const file = trackFile(context, manifestCid, manifest, bytes, undefined)
  const first = manifest.segments[0]!.pieces
  void Promise.all(first.map((p) => context.store.has(p).catch(() => false))).then((held) => {
    if (!held.some(Boolean)) file.adoptingSince = Date.now()
    context.emit({
      type: 'repair:file-known',
      manifestCid: file.key,
      slots: held.flatMap((h, slot) => (h ? [slot] : [])),
      adopting: file.adoptingSince !== undefined,
    })
    context.queueSave()
  })
}
