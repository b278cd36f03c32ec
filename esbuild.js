// Builds every bundle: the extension host, the CLI, the compute worker and the webview.
// `node esbuild.js [--watch] [--production]`
const esbuild = require('esbuild');
const path = require('path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
};

/** Node bundles prefer ES module entry points: jsonc-parser's UMD `main` hides its requires from esbuild. */
const node = { platform: 'node', format: 'cjs', target: 'node18', mainFields: ['module', 'main'] };

/** @type {import('esbuild').BuildOptions[]} */
const targets = [
  {
    ...common,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    ...node,
    // The entry loads dist/features.js (below) on first use: it stays a runtime require.
    external: ['vscode', './features.js'],
    // When the bundle starts and ends evaluating, for the activation log line (extension.ts).
    banner: { js: '"use strict";globalThis.__ffnLensLoad = [performance.now()];' },
    footer: { js: 'globalThis.__ffnLensLoad.push(performance.now());' },
  },
  {
    // Everything the extension does, loaded by the entry on first use (src/extension/features.ts).
    ...common,
    entryPoints: ['src/extension/features.ts'],
    outfile: 'dist/features.js',
    ...node,
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.js',
    ...node,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    entryPoints: ['src/worker/worker.ts'],
    outfile: 'dist/worker.js',
    ...node,
  },
  {
    ...common,
    entryPoints: ['media/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
  },
  {
    // The weight-file viewer (custom editor); its CSS import becomes dist/viewer.css.
    ...common,
    entryPoints: ['media/viewer/main.ts'],
    outfile: 'dist/viewer.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
  },
];

async function main() {
  await require('./scripts/buildWasm.js').buildWasm(); // src/kernels/gemm.wat -> src/kernels/gemm.wasm.ts
  if (watch) {
    const contexts = await Promise.all(targets.map((t) => esbuild.context(t)));
    await Promise.all(contexts.map((c) => c.watch()));
    console.log('[esbuild] watching', targets.map((t) => path.basename(t.outfile)).join(', '));
    return;
  }
  await Promise.all(targets.map((t) => esbuild.build(t)));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
