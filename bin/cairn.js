#!/usr/bin/env -S node --max-semi-space-size=2
// Launcher of the `cairn` command. The CLI is TypeScript run by Node's type stripping (Node >= 22.18 / 23.6): on
// such a Node it runs in this process; on an older one (e.g. the machine's Node 20) it re-runs itself on the Node 24
// that the repository installs as a devDependency. --max-semi-space-size=2: see NODE_PROCESS_FLAGS in
// src/node/constants.ts.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
const strips = major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)
const mainPath = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))

if (strips) {
  const { main } = await import(mainPath)
  await main(process.argv.slice(2))
} else {
  const node24 = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(node24)) {
    process.stderr.write(
      `error: cairn needs Node >= 22.18 (this is ${process.version}): run "npm install" in the repository\n`,
    )
    process.exit(1)
  }
  const child = spawn(node24, ['--max-semi-space-size=2', mainPath, ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)))
}
