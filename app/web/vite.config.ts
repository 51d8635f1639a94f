import { defineConfig } from 'vite';

// The client (`@coverage-pool/client`, linked from ../ts) is TypeScript
// source importing kit from its own node_modules: dedupe resolves every kit
// package (and the token program client) from this app, so the page carries
// one copy of each. The dev server pre-bundles them (kit's browser builds read
// `process.env.NODE_ENV`, which pre-bundling replaces): its scan does not
// follow the linked client.
const shared = ['@solana/kit', '@solana/sysvars', '@solana/program-client-core', '@solana-program/token'];

export default defineConfig(({ mode }) => ({
  // the Codama-generated client reads `process.env["NODE_ENV"]` (to keep error messages out of production bundles)
  define: { 'process.env.NODE_ENV': JSON.stringify(mode) },
  resolve: { dedupe: shared },
  optimizeDeps: { include: [...shared, '@wallet-standard/app'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 1024 },
  server: { port: 5173, host: '127.0.0.1' },
  preview: { port: 4173, host: '127.0.0.1' },
}));
