/** Named defaults of the repair service (self-healing without the owner). Applied as `init.x ?? DEFAULT_X`. */

/** How often the repair service looks at the files it holds (placement, lost slots, adoption). */
export const DEFAULT_REPAIR_CHECK_INTERVAL_MS = 1_000

/** How long a file's placement (who holds which slot) is trusted before the holders are asked again. */
export const DEFAULT_REPAIR_PLACEMENT_REFRESH_MS = 30_000

/** How long a slot must stay without a live holder before the first-ranked repairer acts (a restart is not a loss). */
export const DEFAULT_REPAIR_CONFIRM_MS = 20_000

/** Extra wait per rank: the repairer ranked r acts after r times this if the slot is still lost (fallback). */
export const DEFAULT_REPAIR_FALLBACK_MS = 30_000

/** How often a node checks that it still holds every piece of its slots, and reads a few to verify them. */
export const DEFAULT_REPAIR_SCRUB_INTERVAL_MS = 60_000

/** Pieces read back and hash-checked per scrub round (rotating through the node's pieces). */
export const DEFAULT_REPAIR_SCRUB_READS = 16

/** Segments rebuilt and sent in parallel during a slot repair. */
export const DEFAULT_REPAIR_CONCURRENCY = 4

/** Deadline of one piece fetch or store during a repair. */
export const DEFAULT_REPAIR_PIECE_TIMEOUT_MS = 60_000

/** A node that received a manifest before any piece waits this long for the slot to complete (adoption). */
export const DEFAULT_REPAIR_ADOPT_TIMEOUT_MS = 10 * 60_000

/** Files with more slots than this are not tracked (bounds the slots one forged manifest can make a node push). */
export const DEFAULT_REPAIR_MAX_FILE_SLOTS = 64

/** Files a node tracks at most. */
export const DEFAULT_REPAIR_MAX_FILES = 10_000

/** Manifest bytes the tracked files hold in memory, at most. */
export const DEFAULT_REPAIR_MAX_TRACKED_MANIFEST_BYTES = 256 * 1024 * 1024

/** Files being adopted (a manifest came before any piece of it) at most. */
export const DEFAULT_REPAIR_MAX_ADOPTING = 32

/** Slot repairs one file may start per `DEFAULT_REPAIR_PERIOD_MS`. */
export const DEFAULT_REPAIR_MAX_REPAIRS_PER_FILE = 8
export const DEFAULT_REPAIR_PERIOD_MS = 60 * 60_000

/** How long a holder's passed spot check (one random piece fetched and hash-checked) counts. */
export const DEFAULT_REPAIR_SPOT_CHECK_TTL_MS = 60 * 60_000

/** How long a peer that failed a spot check counts as no holder and no repair target. */
export const DEFAULT_REPAIR_FAILED_PEER_MS = 30 * 60_000

/** Deadline of one spot-check fetch. */
export const DEFAULT_REPAIR_SPOT_CHECK_TIMEOUT_MS = 10_000

/** The repair state file in a node's data dir (files known, the node's slots, last known holders). */
export const REPAIR_STATE_FILE = 'repair.json'

/** The repair event log in a node's data dir (JSON lines; restarted when over `REPAIR_LOG_MAX_BYTES`). */
export const REPAIR_LOG_FILE = 'repair.jsonl'

export const REPAIR_LOG_MAX_BYTES = 1024 * 1024

/** How long a repair's upload reservation on its target lasts: the whole slot is sent well within it. */
export const REPAIR_RESERVATION_SECONDS = 600
