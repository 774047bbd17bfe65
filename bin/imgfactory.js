#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (also run by `npm ci` through `prepare`).
import { main } from '../dist/cli/main.js';

// `imgfactory plan --json | head`: a closed pipe ends output quietly, as for any Unix tool.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
