import { createWriteStream } from 'node:fs'
import { open, rename, rm, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ClientProgressEvent } from '../client/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { parseCapability, syncFolder } from '../storage/index.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { isTreeGet, runGetTree } from './command-get-tree.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { ProgressBar } from './progress-bar.ts'

/** `cairn get CAPABILITY [-o OUT] [--prefer PEER]...` */
export async function runGet(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  if (isTreeGet(parsed)) return runGetTree(parsed, context)
  const capability = parsed.positionals[0]!
  const output = parsed.values.output as string | undefined
  parseCapability(capability) // a malformed capability fails before any network work
  const toFile = output !== undefined && output !== '-'
  if (toFile) await assertFolderExists(output)
  const location = await locateNetwork(parsed.values)
  const session = await openClientSession(location)
  // A bar on a terminal; plain progress lines into a log when the bytes go to a file.
  const bar =
    context.showProgress || toFile
      ? new ProgressBar({ label: 'get', stream: context.stderr, plain: !context.showProgress })
      : undefined
  const onProgress = (event: ClientProgressEvent) => {
    if (event.type === 'get:manifest') bar?.setTotal(event.size)
    else if (event.type === 'get:bytes') bar?.update(event.bytes)
    else if (event.type === 'get:corrupt') {
      bar?.clear()
      context.stderr.write(
        `warning: node ${event.peerId} served a corrupted piece (segment ${event.segment}, slot ${event.slot}); using another holder\n`,
      )
    }
  }
  const chunks = session.client.get(
    capability,
    { onProgress, ...(parsed.values.prefer === undefined ? {} : { prefer: parsed.values.prefer as string[] }) },
    { signal: context.signal },
  )
  const tmp = toFile ? `${output}.cairn-partial` : undefined
  try {
    const destination = tmp === undefined ? context.stdout : createWriteStream(tmp, { flags: 'w' })
    await pipeline(Readable.from(chunks, { objectMode: false }), destination, { end: tmp !== undefined })
    if (tmp !== undefined) {
      // Durable before it takes the user's name: fsync the file, rename, fsync the folder.
      const handle = await open(tmp, 'r+')
      await handle.sync().finally(() => handle.close())
      await rename(tmp, output!)
      await syncFolder(dirname(resolve(output!)))
    }
    bar?.finish()
    return 0
  } catch (err) {
    bar?.clear()
    if (tmp !== undefined) await rm(tmp, { force: true })
    throw err
  } finally {
    await session.close()
  }
}

/** `-o` must name a file in an existing folder: say so before any network work, not after a failed write. */
async function assertFolderExists(output: string): Promise<void> {
  const folder = dirname(resolve(output))
  const info = await stat(folder).catch(() => undefined)
  if (info === undefined) {
    throw new InvalidArgumentError(
      `-o ${output}: the folder ${folder} does not exist; create it first or choose another path`,
    )
  }
  if (!info.isDirectory()) throw new InvalidArgumentError(`-o ${output}: ${folder} is not a folder`)
}
