#!/usr/bin/env node
import { register } from 'tsx/esm/api';

register();
const { exitQuietlyOnClosedPipe } = await import('../src/closed-pipe.ts');
exitQuietlyOnClosedPipe(process.stdout);
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
