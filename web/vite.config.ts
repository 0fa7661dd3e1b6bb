import react from '@vitejs/plugin-react'
import { defineConfig, type Plugin } from 'vite'

// The dashboard imports the typed API client from ../src/api and, for the page as a peer, src/client's browser entry
// and src/net/browser-host.ts. Modules those reach through a layer's index.ts also link node-only code (src/node's
// state files, metrics); the page never calls it, so it is shaken out: modules outside web/src count as free of side
// effects (as test/browser/page-bundle.ts builds the browser tests' pages), and Node built-ins resolve to an empty
// module (no polyfill) so a call that slipped through would throw rather than ship a shim.
const NODE_ONLY = '\0cairn-node-only'
const nodeOnly: Plugin = {
  name: 'cairn-node-only',
  enforce: 'pre',
  resolveId: (id) => (id.startsWith('node:') ? NODE_ONLY : null),
  load: (id) => (id === NODE_ONLY ? 'export {}' : null),
}

const rolldownOptions = {
  shimMissingExports: true,
  // the node-only imports shimmed above are expected: do not list each one on every build
  onLog: (level: never, log: { code?: string }, handler: (level: never, log: never) => void) =>
    log.code === 'SHIMMED_EXPORT' ? undefined : handler(level, log as never),
  treeshake: { moduleSideEffects: (id: string) => id.includes('/web/src/') || id.endsWith('.css') },
}

export default defineConfig({
  plugins: [react(), nodeOnly],
  // the page's put worker (web/src/peer/put-worker.ts) is an ES module built the same way
  worker: { format: 'es', plugins: () => [nodeOnly], rolldownOptions },
  server: {
    fs: { allow: ['..'] },
    // `npm run dev -w web` proxies the API to a running gateway (CAIRN_GATEWAY, default the devnet's port).
    proxy: { '/api': process.env.CAIRN_GATEWAY ?? 'http://127.0.0.1:7070' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rolldownOptions,
  },
})
