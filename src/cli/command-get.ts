import type { ClientProgressEvent } from '../client/index.ts'
import { parseCapability } from '../storage/index.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { isTreeGet, runGetTree } from './command-get-tree.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { assertFolderExists, writeGetOutput, writesFile } from './get-output.ts'
import { ProgressBar } from './progress-bar.ts'

/** `cairn get CAPABILITY [-o OUT] [--prefer PEER]...` */
export async function runGet(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  if (isTreeGet(parsed)) return runGetTree(parsed, context)
  const capability = parsed.positionals[0]!
  const output = parsed.values.output as string | undefined
  parseCapability(capability) // a malformed capability fails before any network work
  const toFile = writesFile(output)
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
  try {
    await writeGetOutput(chunks, output, context)
    bar?.finish()
    return 0
  } catch (err) {
    bar?.clear()
    throw err
  } finally {
    await session.close()
  }
}
