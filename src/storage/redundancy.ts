/** The one rule on a file's redundancy (k of n), applied by the encoder, the client, the CLI and the gateway. */
import { InvalidArgumentError } from '../errors.ts'
import { DEFAULT_K, DEFAULT_N, MAX_SHARDS } from './constants.ts'

/** A file's redundancy: any `k` of its `n` pieces per segment read the segment (k = 1: n copies). */
export type RedundancyPolicy = { k: number; n: number }

/**
 * Applies the defaults (`DEFAULT_K`, `DEFAULT_N`) to a requested redundancy and checks it: whole numbers with
 * 1 <= k < n <= 255 (the erasure coder's limits: n > k keeps at least one spare piece, and k = 1 is plain
 * replication to n >= 2 nodes). Throws `InvalidArgumentError` with one message naming the allowed range.
 *
 * @example
 * ```ts
 * redundancyPolicy() // { k: 1, n: 3 }
 * redundancyPolicy(4, 6) // { k: 4, n: 6 }
 * redundancyPolicy(2, 2) // throws InvalidArgumentError
 * ```
 */
export function redundancyPolicy(k: number = DEFAULT_K, n: number = DEFAULT_N): RedundancyPolicy {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n <= k || n > MAX_SHARDS) {
    throw new InvalidArgumentError(
      `k and n must be whole numbers with 1 <= k < n <= ${MAX_SHARDS} (any k of a segment's n pieces read it; k = 1 keeps n copies), got k=${k}, n=${n}: use --k/--n within that range`,
      { details: { k, n } },
    )
  }
  return { k, n }
}
