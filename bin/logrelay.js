#!/usr/bin/env node
// The `logrelay` executable: a thin shim over the compiled CLI (npm run build → dist/).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
