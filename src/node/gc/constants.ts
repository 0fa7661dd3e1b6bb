/** Named defaults and data-dir files of a node's garbage collector (applied as `init.x ?? DEFAULT_X`). */

/**
 * How long a piece is kept after the last moment something needed it (its deal ended or was closed, its acceptance
 * expired unused) and how old an unreferenced piece must be before it is deleted (an upload in progress, a slot not
 * yet accepted): one day.
 */
export const DEFAULT_GC_GRACE_MS = 24 * 60 * 60 * 1000
/** How often the collector sweeps the piece store: one hour. */
export const DEFAULT_GC_INTERVAL_MS = 60 * 60 * 1000
/**
 * The collector sweeps only when the node's book of the Market was read this recently (ms): an old book may miss a
 * deal's top-up, and the collector must never take a running deal for an ended one.
 */
export const DEFAULT_GC_MAX_BOOK_AGE_MS = 5 * 60 * 1000
/** The collector's memory of the slots it kept, with when each was last needed (`gc-state.json`, in the data dir). */
export const GC_STATE_FILE = 'gc-state.json'
