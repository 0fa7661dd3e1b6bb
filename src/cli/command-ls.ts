import { join } from 'node:path'
import { createFileRecordStore, FILES_RECORD, openTree } from '../client/index.ts'
import { formatByteSize } from '../node/index.ts'
import { parseCapability, splitTreeCapability, type TreeEntry, treeListing } from '../storage/index.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTable } from './output.ts'

/**
 * `cairn ls [--json]`: the files this machine put. `cairn ls CAPABILITY[/PATH] [--json]`: the files and folders of a
 * folder stored with `put -r` (everything under PATH, depth first).
 */
export async function runLs(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const location = await locateNetwork(parsed.values)
  if (parsed.positionals[0] !== undefined) return listTree(parsed, context)
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

/** `-rwxr-xr-x` / `drwxr-x---` from a type and permission bits. */
export function modeText(entry: Pick<TreeEntry, 'type' | 'mode'>): string {
  const bits = 'rwxrwxrwx'
  let text = entry.type === 'dir' ? 'd' : '-'
  for (let i = 0; i < 9; i++) text += entry.mode & (1 << (8 - i)) ? bits[i] : '-'
  return text
}

async function listTree(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const { capability, path } = splitTreeCapability(parsed.positionals[0]!)
  parseCapability(capability)
  const session = await openClientSession(await locateNetwork(parsed.values))
  try {
    const tree = await openTree(session.client, capability, {}, { signal: context.signal })
    treeListing(tree.index, path) // throws for a missing path or a file
    const under = path === '' ? tree.index.entries : tree.index.entries.filter((e) => e.path.startsWith(`${path}/`))
    if (parsed.values.json === true) {
      const entries = under.map(({ offset: _offset, ...e }: TreeEntry & { offset?: number }) => e)
      context.stdout.write(`${JSON.stringify({ path, entries })}\n`)
      return 0
    }
    context.stdout.write(
      formatTable(
        ['MODE', 'SIZE', 'MODIFIED', 'PATH'],
        under.map((e) => [
          modeText(e),
          e.type === 'file' ? formatByteSize(e.size) : '-',
          new Date(e.mtime * 1000).toISOString().slice(0, 19).replace('T', ' '),
          e.type === 'dir' ? `${e.path}/` : e.path,
        ]),
      ),
    )
    return 0
  } finally {
    await session.close()
  }
}
