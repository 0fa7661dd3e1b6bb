import { randomBytes } from 'node:crypto'
import { link, open, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { InvalidArgumentError } from '../errors.ts'
import { syncFolder } from '../storage/index.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'

/**
 * `cairn wallet new --out FILE [--json]`: a fresh secp256k1 key in FILE (hex, mode 0600), never over an existing file,
 * written durably before its address is printed. Back the file up: it is the wallet.
 */
export async function runWalletNew(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const out = parsed.values.out
  if (typeof out !== 'string' || out === '') {
    throw new InvalidArgumentError('wallet new needs --out FILE: the file to write the new key to (mode 0600)')
  }
  const path = resolve(out)
  const privateKey = generatePrivateKey()
  const address = privateKeyToAccount(privateKey).address
  await writeNewKeyFile(path, `${privateKey}\n`)
  if (parsed.values.json === true) context.stdout.write(`${JSON.stringify({ address, keyFile: path })}\n`)
  else {
    context.stdout.write(`${address}\n`)
    context.stderr.write(
      `wallet ${address}: key written to ${path} (mode 0600); back it up, whoever reads it spends from this wallet\n`,
    )
  }
  return 0
}

/**
 * Writes `text` to a new file at `path` (mode 0600) durably and atomically, refusing to replace any file there: the
 * bytes go to a temp file beside it (fsync), which is then hard-linked to `path` (fails if `path` exists), and the
 * folder is fsynced.
 */
export async function writeNewKeyFile(path: string, text: string): Promise<void> {
  const folder = dirname(path)
  const info = await stat(folder).catch(() => undefined)
  if (info === undefined || !info.isDirectory()) {
    throw new InvalidArgumentError(`--out ${path}: the folder ${folder} does not exist; create it first (mode 0700)`)
  }
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  ) {
    throw new InvalidArgumentError(
      `--out ${path} already exists: a key file is never overwritten (it may be a wallet holding funds); choose another path`,
    )
  }
  const temp = join(folder, `.${randomBytes(6).toString('hex')}.key.tmp`)
  const handle = await open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(text)
    await handle.sync()
    await handle.close()
    await link(temp, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') {
        throw new InvalidArgumentError(
          `--out ${path} already exists: a key file is never overwritten; choose another path`,
        )
      }
      throw err
    })
  } finally {
    await handle.close().catch(() => {})
    await rm(temp, { force: true })
  }
  await syncFolder(folder)
}
