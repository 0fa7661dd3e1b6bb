/**
 * Named defaults of the client (applied as `init.x ?? DEFAULT_X`). No imports: the page's bundle takes this file
 * (DEFAULT_DEAL_MAX_PRICE, which needs src/chain, is in deal-defaults.ts).
 */

/** Pieces a client has in flight at once during a put (the backpressure on the encoder). */
export const DEFAULT_PUT_CONCURRENCY = 8
/** Bytes of piece data a client has in flight at once during a put (bounds the client's memory). */
export const DEFAULT_PUT_MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024
/** Attempts to store one slot: the first node plus replacements when one fails. */
export const DEFAULT_SLOT_ATTEMPTS = 4
/** Worker threads encoding segments during a put (0: on the calling thread; measured no faster on 2 cores, and each worker costs RSS). */
export const DEFAULT_ENCODE_WORKERS = 0
/** Segments a client decodes in parallel during a get. */
export const DEFAULT_GET_CONCURRENCY = 4
/**
 * A get request slower than this is raced by a request to another slot (the slow one is then cancelled). Longer
 * than the storage layer's default: on a busy machine an eager hedge doubles the load it is trying to escape.
 */
export const DEFAULT_GET_HEDGE_MS = 5_000
/** Deadline of one piece request during put or get (a safety net: the network has its own transfer deadline). */
export const DEFAULT_PIECE_TIMEOUT_MS = 120_000
/** Deadline of asking one node which pieces it holds. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000
/** Nodes asked at once whether they hold a file's manifest. */
export const MANIFEST_PROBE_WAVE = 16
/** Where the client keeps its record of files put (JSON lines), relative to the client dir. */
export const FILES_RECORD = 'files.jsonl'
/** A deal's length when `--duration` is not given (epochs). */
export const DEFAULT_DEAL_DURATION_EPOCHS = 1_000
/**
 * The slowest pace (bytes per second) at which a holder is expected to read and hash a slot before it confirms a
 * deal: a put waits 3 epochs + 30 s + slot size / this for the deal to be active.
 */
export const SLOT_CHECK_BYTES_PER_S = 10_000_000
