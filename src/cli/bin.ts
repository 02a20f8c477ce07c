#!/usr/bin/env node
import { runCli } from './program.js';

// `wxopen config | head -1`: the reader left, which is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
process.stderr.on('error', () => {});

process.exitCode = await runCli(process.argv);
