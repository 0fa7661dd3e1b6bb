/**
 * Where `cairn get` writes the bytes it read: stdout, or a file made durable before it takes the user's name (a
 * `.cairn-partial` file, fsynced, renamed, its folder fsynced; removed when the read fails).
 */
import { createWriteStream } from 'node:fs'
import { open, rename, rm, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidArgumentError } from '../errors.ts'
import { syncFolder } from '../storage/index.ts'
import type { CommandContext } from './command-context.ts'

/** True when `-o` names a file (absent or `-` is stdout). */
export function writesFile(output: string | undefined): output is string {
  return output !== undefined && output !== '-'
}

/** `-o` must name a file in an existing folder: say so before any network work, not after a failed write. */
export async function assertFolderExists(output: string): Promise<void> {
  const folder = dirname(resolve(output))
  if ((await stat(folder).catch(() => undefined))?.isDirectory() !== true) {
    throw new InvalidArgumentError(
      `-o ${output}: the folder ${folder} does not exist; create it first or choose another path`,
    )
  }
}

/**
 * Streams `chunks` to stdout, or durably to `output` with the given mode and modification time (a file of a folder
 * keeps its own).
 */
export async function writeGetOutput(
  chunks: AsyncIterable<Uint8Array>,
  output: string | undefined,
  context: Pick<CommandContext, 'stdout'>,
  init: { mode?: number; mtimeSeconds?: number } = {},
): Promise<void> {
  if (!writesFile(output)) {
    await pipeline(Readable.from(chunks, { objectMode: false }), context.stdout, { end: false })
    return
  }
  const tmp = `${output}.cairn-partial`
  try {
    await pipeline(
      Readable.from(chunks, { objectMode: false }),
      createWriteStream(tmp, { flags: 'w', ...(init.mode === undefined ? {} : { mode: 0o600 }) }),
    )
    const handle = await open(tmp, 'r+')
    try {
      if (init.mode !== undefined) await handle.chmod(init.mode)
      if (init.mtimeSeconds !== undefined) await handle.utimes(init.mtimeSeconds, init.mtimeSeconds)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, output)
    await syncFolder(dirname(resolve(output)))
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
