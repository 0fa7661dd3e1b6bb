import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The dashboard imports the typed API client from ../src/api (browser-safe files only).
export default defineConfig({
  plugins: [react()],
  server: {
    fs: { allow: ['..'] },
    // `npm run dev -w web` proxies the API to a running gateway (CAIRN_GATEWAY, default the devnet's port).
    proxy: { '/api': process.env.CAIRN_GATEWAY ?? 'http://127.0.0.1:7070' },
  },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1000 },
})
