/**
 * Systematic Reed-Solomon k-of-n coder over GF(2^8) on top of a `GaloisKernel` (the only part that touches bytes in
 * bulk). Matrices come from ./coding-matrix.ts.
 */
import { InvalidArgumentError, NotEnoughPiecesError } from '../../errors.ts'
import { parityMatrix, recoveryMatrix } from './coding-matrix.ts'
import { DEFAULT_RECOVERY_CACHE_SIZE } from './constants.ts'
import type { ErasureImplementationName, GaloisKernel, ReedSolomonCoder } from './interface.ts'

interface Present {
  /** Ascending indices of present shards. */
  indices: number[]
  size: number
}

export class ReedSolomonErasureCoder implements ReedSolomonCoder {
  readonly k: number
  readonly n: number
  readonly #kernel: GaloisKernel
  readonly #parity: Uint8Array
  readonly #recoveryCache = new Map<string, Uint8Array>()

  constructor(k: number, n: number, kernel: GaloisKernel) {
    this.k = k
    this.n = n
    this.#kernel = kernel
    this.#parity = parityMatrix(k, n)
  }

  get implementation(): ErasureImplementationName {
    return this.#kernel.name
  }

  shardSize(dataLength: number): number {
    if (!Number.isSafeInteger(dataLength) || dataLength < 0) {
      throw new InvalidArgumentError(`data length must be a non-negative integer, got ${dataLength}`)
    }
    return Math.ceil(dataLength / this.k)
  }

  encode(data: Uint8Array): Uint8Array[] {
    const { k, n } = this
    const size = this.shardSize(data.length)
    const shards: Uint8Array[] = []
    for (let i = 0; i < n; i++) shards.push(new Uint8Array(size))
    for (let j = 0; j < k; j++) {
      const start = Math.min(j * size, data.length)
      shards[j]!.set(data.subarray(start, Math.min(start + size, data.length)))
    }
    if (size > 0) this.#kernel.multiply(this.#parity, shards.slice(0, k), shards.slice(k))
    return shards
  }

  decode(shards: ReadonlyArray<Uint8Array | undefined>, dataLength: number): Uint8Array {
    const { k } = this
    const present = this.#present(shards)
    const size = present.size
    const expected = this.shardSize(dataLength)
    if (expected !== size) {
      throw new InvalidArgumentError(
        `shards of ${size} bytes cannot hold ${dataLength} bytes: with k=${k}, ${dataLength} bytes make shards of ${expected} bytes`,
        { details: { dataLength, shardSize: size, expectedShardSize: expected, k } },
      )
    }
    const out = new Uint8Array(dataLength)
    const missingRows: number[] = []
    const missingOutputs: Uint8Array[] = []
    for (let j = 0; j < k && j * size < dataLength; j++) {
      const part = out.subarray(j * size, Math.min((j + 1) * size, dataLength))
      const shard = shards[j]
      if (shard !== undefined && shard !== null) part.set(shard.subarray(0, part.length))
      else {
        missingRows.push(j)
        missingOutputs.push(part)
      }
    }
    if (missingRows.length > 0) this.#rebuild(shards, present, missingRows, missingOutputs)
    return out
  }

  reconstruct(shards: Array<Uint8Array | undefined>): Uint8Array[] {
    const present = this.#present(shards)
    const missingRows: number[] = []
    const missingOutputs: Uint8Array[] = []
    for (let i = 0; i < this.n; i++) {
      if (shards[i] === undefined || shards[i] === null) {
        const rebuilt = new Uint8Array(present.size)
        missingRows.push(i)
        missingOutputs.push(rebuilt)
        shards[i] = rebuilt
      }
    }
    if (missingRows.length > 0) this.#rebuild(shards, present, missingRows, missingOutputs)
    return shards as Uint8Array[]
  }

  /** Computes generator rows `rows` into `outputs` from the first k present shards. */
  #rebuild(
    shards: ReadonlyArray<Uint8Array | undefined>,
    present: Present,
    rows: number[],
    outputs: Uint8Array[],
  ): void {
    const chosen = present.indices.slice(0, this.k)
    if (present.size === 0) return
    const key = `${chosen.join(',')}/${rows.join(',')}`
    let coefficients = this.#recoveryCache.get(key)
    if (coefficients === undefined) {
      coefficients = recoveryMatrix(this.#parity, this.k, chosen, rows)
      if (this.#recoveryCache.size >= DEFAULT_RECOVERY_CACHE_SIZE) {
        this.#recoveryCache.delete(this.#recoveryCache.keys().next().value!)
      }
      this.#recoveryCache.set(key, coefficients)
    }
    this.#kernel.multiply(
      coefficients,
      chosen.map((i) => shards[i]!),
      outputs,
    )
  }

  #present(shards: ReadonlyArray<Uint8Array | undefined>): Present {
    const { k, n } = this
    if (shards.length !== n) {
      throw new InvalidArgumentError(
        `expected an array of n=${n} shards (undefined where missing), got ${shards.length} entries`,
        { details: { n, received: shards.length } },
      )
    }
    const indices: number[] = []
    let size = -1
    for (let i = 0; i < n; i++) {
      const shard = shards[i]
      if (shard === undefined || shard === null) continue
      if (!(shard instanceof Uint8Array)) {
        throw new InvalidArgumentError(`shard ${i} is not a Uint8Array (use undefined for a missing shard)`)
      }
      if (size === -1) size = shard.length
      else if (shard.length !== size) {
        throw new InvalidArgumentError(
          `shards have unequal sizes: shard ${indices[0]} is ${size} bytes but shard ${i} is ${shard.length} bytes; every shard of a stripe must come from the same encode()`,
          { details: { shard: i, size: shard.length, expectedSize: size } },
        )
      }
      indices.push(i)
    }
    if (indices.length < k) {
      throw new NotEnoughPiecesError(
        `not enough shards to rebuild: ${indices.length} of ${n} present, at least k=${k} needed`,
        { details: { present: indices.length, needed: k, n } },
      )
    }
    return { indices, size }
  }
}
