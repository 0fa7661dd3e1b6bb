/** GF(2^8) has 256 elements; with distinct Cauchy points for every shard, at most 255 shards fit in one stripe. */
export const MAX_ERASURE_SHARDS = 255

/** Which kernel `createErasureCoder` uses when `init.implementation` is not given. */
export const DEFAULT_ERASURE_IMPLEMENTATION = 'auto'

/** Reducing polynomial of the field: x^8 + x^4 + x^3 + x^2 + 1 (0x11d), with 2 as generator. */
export const GF256_POLYNOMIAL = 0x11d

/** How many distinct erasure patterns a coder keeps its recovery matrix for (the pipeline decodes many segments
 * with the same nodes missing, so the matrix is usually reused). */
export const DEFAULT_RECOVERY_CACHE_SIZE = 32

/**
 * Bytes of wasm memory the SIMD kernel uses per pass for input and output blocks (all rows of one column block):
 * small enough to stay in L2, large enough that per-block call overhead vanishes. 64 KiB to 1 MiB measured alike
 * within noise here (2 MiB L2 per core); 2 MiB was ~20% slower. Wasm memory therefore stays small whatever the
 * shard size: tables + max(WASM_BLOCK_BUDGET, 256 x rows).
 */
export const WASM_BLOCK_BUDGET = 256 * 1024
