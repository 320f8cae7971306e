#!/usr/bin/env node
// `npm start`: the studio on http://127.0.0.1:5173 (PORT to change) with its built-in demos.
import { spawn } from 'node:child_process';

const port = process.env.PORT ?? '5173';
const child = spawn(process.execPath, ['node_modules/vite/bin/vite.js', '--host', '127.0.0.1', '--port', port, '--strictPort'], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
