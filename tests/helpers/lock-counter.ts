// A child process of tests/results-script.test.ts: `rounds` read–wait–write cycles on a JSON
// counter, under scripts/lock.ts's lock (or without it, with "nolock"), as parallel results
// processes update their kept results.
import { readFileSync, writeFileSync } from 'node:fs';
import { withLock } from '../../scripts/lock';

const [file, rounds, mode] = process.argv.slice(2);
const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3);
const bump = () => {
  const n = JSON.parse(readFileSync(file, 'utf8')).n as number;
  pause(); // the window in which another process could write
  writeFileSync(file, JSON.stringify({ n: n + 1 }));
};
for (let i = 0; i < Number(rounds); i++) {
  if (mode === 'nolock') bump();
  else withLock(file, bump);
  pause();
}
