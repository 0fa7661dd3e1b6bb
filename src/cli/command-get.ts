import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ClientProgressEvent } from '../client/index.ts'
import { parseCapability } from '../storage/index.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { ProgressBar } from './progress-bar.ts'

/** `cairn get CAPABILITY [-o OUT] [--prefer PEER]...` */
export async function runGet(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const capability = parsed.positionals[0]!
  const output = parsed.values.output as string | undefined
  parseCapability(capability) // a malformed capability fails before any network work
  const location = await locateNetwork(parsed.values)
  const session = await openClientSession(location)
  const showBar = context.showProgress || (output !== undefined && output !== '-' && context.stderr.isTTY === true)
  const bar = showBar ? new ProgressBar({ label: 'get', stream: context.stderr }) : undefined
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
  const toFile = output !== undefined && output !== '-'
  const tmp = toFile ? `${output}.cairn-partial` : undefined
  try {
    const destination = tmp === undefined ? context.stdout : createWriteStream(tmp, { flags: 'w' })
    await pipeline(Readable.from(chunks, { objectMode: false }), destination, { end: tmp !== undefined })
    if (tmp !== undefined) await rename(tmp, output!)
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
