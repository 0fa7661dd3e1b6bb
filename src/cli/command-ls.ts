import { join } from 'node:path'
import { createFileRecordStore, FILES_RECORD } from '../client/index.ts'
import { formatByteSize } from '../node/index.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTable } from './output.ts'

/** `cairn ls [--json]`: the files this machine put on the network. */
export async function runLs(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const location = await locateNetwork(parsed.values)
  const records = await createFileRecordStore({ path: join(location.home, FILES_RECORD) }).list()
  if (parsed.values.json === true) {
    context.stdout.write(`${JSON.stringify(records)}\n`)
    return 0
  }
  context.stdout.write(
    formatTable(
      ['NAME', 'SIZE', 'K/N', 'STORED', 'CAPABILITY'],
      records.map((r) => [
        r.name ?? '-',
        formatByteSize(r.size),
        `${r.k}/${r.n}`,
        new Date(r.storedAt).toISOString().slice(0, 19).replace('T', ' '),
        r.capability,
      ]),
    ),
  )
  return 0
}
