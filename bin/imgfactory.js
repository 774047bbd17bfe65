#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (also run by `npm ci` through `prepare`).
import { setFlagsFromString } from 'node:v8';

// fetch parses HTTP with a WebAssembly module, which V8 recompiles in the background with its
// optimizing tier; the process then waits for that at exit: 0.05-0.15 s of every command that
// used fetch (archive downloads, registry traffic through a proxy), more than the HTTP parsing
// it would speed up. Set before anything loads fetch.
setFlagsFromString('--liftoff-only');

const { main } = await import('../dist/cli/main.js');

// `imgfactory plan --json | head`: a closed pipe ends output quietly, as for any Unix tool.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
