import { formatByteSize } from '../node/index.ts'
import { parseCapability } from '../storage/index.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTable } from './output.ts'

/** `cairn status CAPABILITY [--json]`: which node holds each slot, and whether it is alive. */
export async function runStatus(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  parseCapability(parsed.positionals[0]!) // a malformed capability fails before any network work
  const location = await locateNetwork(parsed.values)
  const session = await openClientSession(location)
  try {
    const status = await session.client.status(parsed.positionals[0]!, { signal: context.signal })
    if (parsed.values.json === true) {
      context.stdout.write(`${JSON.stringify(status)}\n`)
    } else {
      const alive = status.slots.filter((s) => s.state === 'alive').length
      context.stdout.write(
        `${status.manifestCid}  ${formatByteSize(status.size)}  k=${status.k} n=${status.n}  ${status.readable ? 'readable' : 'NOT READABLE'} (${alive}/${status.n} slots alive)\n`,
      )
      context.stdout.write(
        formatTable(
          ['SLOT', 'NODE', 'STATE', 'PIECES'],
          status.slots.map((s) => [String(s.index), s.peerId ?? '-', s.state, `${s.held}/${s.pieces}`]),
        ),
      )
    }
    return 0
  } finally {
    await session.close()
  }
}
