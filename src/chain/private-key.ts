import { readFile } from 'node:fs/promises'
import type { Hex } from 'viem'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'

/** The environment variable through which the CLI passes a private key's text (named in errors). */
export const PRIVATE_KEY_ENV = 'CAIRN_PRIVATE_KEY'

/**
 * Reads an EVM private key (hex, optional 0x, surrounding whitespace ignored) from a file or from the text the
 * caller read (e.g. the CLI's `CAIRN_PRIVATE_KEY`; `origin` names where it came from in errors, default
 * `$CAIRN_PRIVATE_KEY`). The file should be readable by its owner only (0600). The library never reads the
 * environment itself.
 *
 * @example
 * ```ts
 * const privateKey = await loadPrivateKey({ file: join(dataDir, 'evm.key') })
 * const fromText = await loadPrivateKey({ text: keyText, origin: '$CAIRN_PRIVATE_KEY' })
 * ```
 */
export async function loadPrivateKey(
  source: { file?: string; text?: string | undefined; origin?: string } = {},
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
    origin = source.origin ?? `$${PRIVATE_KEY_ENV}`
    text = source.text
    if (text === undefined || text.trim() === '') {
      throw new NotFoundError(`no private key: set ${PRIVATE_KEY_ENV} or pass a key file`)
    }
  }
  const hex = text.trim().replace(/^0x/i, '')
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new InvalidArgumentError(`the private key in ${origin} must be 32 bytes of hex`)
  }
  return `0x${hex.toLowerCase()}`
}
