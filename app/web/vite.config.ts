import { defineConfig } from 'vite';

// The client (`@coverage-pool/client`, linked from ../ts) is TypeScript
// source importing kit from its own node_modules: dedupe resolves every kit
// package (and the token program client) from this app, so the page carries
// one copy of each.
export default defineConfig({
  resolve: {
    dedupe: ['@solana/kit', '@solana/sysvars', '@solana/program-client-core', '@solana-program/token'],
  },
  build: { target: 'es2022', chunkSizeWarningLimit: 1024 },
  server: { port: 5173, host: '127.0.0.1' },
  preview: { port: 4173, host: '127.0.0.1' },
});
