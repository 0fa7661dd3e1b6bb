/**
 * The systematic generator matrix and the recovery matrices derived from it.
 *
 * Generator (n x k): rows 0..k-1 are the identity (data shards are the data), rows k..n-1 are a Cauchy matrix
 * C[i][j] = 1 / (x_i + y_j) with y_j = j and x_i = k + i (all n points distinct, so no denominator is 0), then scaled
 * so that the first parity row and the first column are all ones. Every square submatrix of a Cauchy matrix is
 * invertible, and scaling rows or columns by non-zero constants keeps that, so every k x k submatrix of the
 * generator is invertible: any k shards rebuild the data. With k = 1 every coefficient is 1 (plain replication); the
 * all-ones first parity row makes parity shard k the XOR of the data.
 */
import { GF_EXP, GF_LOG, gfInverse, gfMultiply } from './galois-field.ts'

/** Row-major (n - k) x k matrix of parity coefficients. */
export function parityMatrix(k: number, n: number): Uint8Array {
  const m = n - k
  const matrix = new Uint8Array(m * k)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) matrix[i * k + j] = gfInverse((k + i) ^ j)
  }
  // Scale column j by 1 / C[0][j]: the first row becomes all ones.
  for (let j = 0; j < k; j++) {
    const scale = gfInverse(matrix[j]!)
    for (let i = 0; i < m; i++) matrix[i * k + j] = gfMultiply(matrix[i * k + j]!, scale)
  }
  // Scale row i by 1 / C[i][0]: the first column becomes all ones (row 0 is unchanged: its C[0][0] is already 1).
  for (let i = 1; i < m; i++) {
    const scale = gfInverse(matrix[i * k]!)
    for (let j = 0; j < k; j++) matrix[i * k + j] = gfMultiply(matrix[i * k + j]!, scale)
  }
  return matrix
}

/** Row `row` (0..n-1) of the generator matrix, as k coefficients. */
export function generatorRow(parity: Uint8Array, k: number, row: number): Uint8Array {
  if (row < k) {
    const unit = new Uint8Array(k)
    unit[row] = 1
    return unit
  }
  return parity.subarray((row - k) * k, (row - k + 1) * k)
}

/**
 * Inverts a square matrix over GF(2^8) by Gauss-Jordan elimination. Returns undefined when it is singular.
 */
export function invertMatrix(matrix: Uint8Array, size: number): Uint8Array | undefined {
  const a = matrix.slice()
  const inverse = new Uint8Array(size * size)
  for (let i = 0; i < size; i++) inverse[i * size + i] = 1
  for (let col = 0; col < size; col++) {
    let pivot = col
    while (pivot < size && a[pivot * size + col] === 0) pivot++
    if (pivot === size) return undefined
    if (pivot !== col) {
      swapRows(a, size, pivot, col)
      swapRows(inverse, size, pivot, col)
    }
    const scale = gfInverse(a[col * size + col]!)
    scaleRow(a, size, col, scale)
    scaleRow(inverse, size, col, scale)
    for (let row = 0; row < size; row++) {
      const factor = row === col ? 0 : a[row * size + col]!
      if (factor === 0) continue
      addScaledRow(a, size, row, col, factor)
      addScaledRow(inverse, size, row, col, factor)
    }
  }
  return inverse
}

function swapRows(m: Uint8Array, size: number, r1: number, r2: number): void {
  for (let c = 0; c < size; c++) {
    const t = m[r1 * size + c]!
    m[r1 * size + c] = m[r2 * size + c]!
    m[r2 * size + c] = t
  }
}

function scaleRow(m: Uint8Array, size: number, row: number, scale: number): void {
  const logScale = GF_LOG[scale]!
  for (let c = 0; c < size; c++) {
    const v = m[row * size + c]!
    if (v !== 0) m[row * size + c] = GF_EXP[GF_LOG[v]! + logScale]!
  }
}

/** target row += factor * source row */
function addScaledRow(m: Uint8Array, size: number, target: number, source: number, factor: number): void {
  const logFactor = GF_LOG[factor]!
  for (let c = 0; c < size; c++) {
    const v = m[source * size + c]!
    if (v !== 0) m[target * size + c]! ^= GF_EXP[GF_LOG[v]! + logFactor]!
  }
}

/**
 * The k x k matrix M with data = M x chosen, where `chosen` are k present shard indices in ascending order.
 * Only the missing data shards need solving: with D the missing data indices and P the chosen parity indices
 * (|P| = |D| = e), C[P][D] d_D = p_P + C[P][K] d_K, so one e x e inversion (e <= n - k) suffices.
 */
export function dataFromChosenMatrix(parity: Uint8Array, k: number, chosen: ReadonlyArray<number>): Uint8Array {
  const result = new Uint8Array(k * k)
  const position = new Map<number, number>()
  chosen.forEach((index, t) => {
    position.set(index, t)
  })
  const missingData: number[] = []
  for (let j = 0; j < k; j++) {
    const t = position.get(j)
    if (t === undefined) missingData.push(j)
    else result[j * k + t] = 1
  }
  const e = missingData.length
  if (e === 0) return result
  const parityChosen = chosen.filter((index) => index >= k)
  const sub = new Uint8Array(e * e)
  for (let b = 0; b < e; b++) {
    for (let a = 0; a < e; a++) sub[b * e + a] = parity[(parityChosen[b]! - k) * k + missingData[a]!]!
  }
  const inverse = invertMatrix(sub, e)
  if (inverse === undefined) throw new Error('internal error: a Cauchy submatrix was singular')
  for (let a = 0; a < e; a++) {
    const row = missingData[a]! * k
    for (let b = 0; b < e; b++) {
      const coefficient = inverse[a * e + b]!
      if (coefficient === 0) continue
      const parityRow = (parityChosen[b]! - k) * k
      // d_D[a] += A[a][b] * p_b ...
      result[row + position.get(parityChosen[b]!)!]! ^= coefficient
      // ... + A[a][b] * sum over present data j of C[P_b][j] d_j
      for (let j = 0; j < k; j++) {
        const t = position.get(j)
        if (t !== undefined) result[row + t]! ^= gfMultiply(coefficient, parity[parityRow + j]!)
      }
    }
  }
  return result
}

/** Coefficients (rows.length x k) that compute generator rows `rows` from the chosen shards. */
export function recoveryMatrix(
  parity: Uint8Array,
  k: number,
  chosen: ReadonlyArray<number>,
  rows: ReadonlyArray<number>,
): Uint8Array {
  const dataMatrix = dataFromChosenMatrix(parity, k, chosen)
  const result = new Uint8Array(rows.length * k)
  rows.forEach((row, r) => {
    const g = generatorRow(parity, k, row)
    for (let j = 0; j < k; j++) {
      const coefficient = g[j]!
      if (coefficient === 0) continue
      for (let t = 0; t < k; t++) result[r * k + t]! ^= gfMultiply(coefficient, dataMatrix[j * k + t]!)
    }
  })
  return result
}
