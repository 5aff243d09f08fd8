#!/usr/bin/env node
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Exit once the output is flushed, even if a transport left a handle open after close().
setTimeout(() => process.exit(code), 1000).unref();
