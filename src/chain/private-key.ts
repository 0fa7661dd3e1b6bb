import { readFile } from 'node:fs/promises'
import type { Hex } from 'viem'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'

/** Environment variable read by `loadPrivateKey` when no file is given. */
export const PRIVATE_KEY_ENV = 'CAIRN_PRIVATE_KEY'

/**
 * Reads an EVM private key from a file (hex, optional 0x, surrounding whitespace ignored) or from the environment
 * variable `CAIRN_PRIVATE_KEY`. The file should be readable by its owner only (0600).
 *
 * @example
 * ```ts
 * const privateKey = await loadPrivateKey({ file: join(dataDir, 'evm.key') })
 * ```
 */
export async function loadPrivateKey(
  source: { file?: string; env?: string } = {},
  options: { signal?: AbortSignal } = {},
): Promise<Hex> {
  let text: string | undefined
  let origin: string
  if (source.file !== undefined) {
    origin = source.file
    try {
      text = await readFile(source.file, { encoding: 'utf8', ...(options.signal ? { signal: options.signal } : {}) })
    } catch (error) {
      throw new NotFoundError(`cannot read the private key file ${source.file}`, { cause: error })
    }
  } else {
    const name = source.env ?? PRIVATE_KEY_ENV
    origin = `$${name}`
    text = process.env[name]
    if (text === undefined || text.trim() === '') {
      throw new NotFoundError(`no private key: set ${name} or pass a key file`)
    }
  }
  const hex = text.trim().replace(/^0x/i, '')
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new InvalidArgumentError(`the private key in ${origin} must be 32 bytes of hex`)
  }
  return `0x${hex.toLowerCase()}`
}
