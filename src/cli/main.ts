/**
 * `deepfaith <command> …` — the command-line front end of the engine (Node, wasm backend by default).
 * Each command lives in src/cli/commands/<name>.ts and exports `command: CliCommand`.
 */
import { isUserError } from '../core/errors';
import type { CliCommand } from './common';

const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = {
  attribute: () => import('./commands/attribute'),
  evaluate: () => import('./commands/evaluate'),
  supervise: () => import('./commands/supervise'),
  run: () => import('./commands/run'),
  merge: () => import('./commands/merge'),
  explain: () => import('./commands/explain'),
  validate: () => import('./commands/validate'),
};

function usage(): string {
  return [
    'Usage: deepfaith <command> [options]',
    '',
    'Commands:',
    '  attribute   explain rows of a CSV with an attribution method → explanations JSON',
    '  evaluate    score explanations with the ten faithfulness metrics → metrics JSON',
    '  supervise   run prior methods, dedup and filter them → supervision set Z + per-sample record',
    '  run         run a whole DeepFaith job file (supervise, train, evaluate, report)',
    '  merge       combine the shards of supervise --shard i/N into the prepared cache run --prepared reads',
    '  explain     explain rows with a trained DeepFaith explainer → explanations JSON',
    '  validate    which metric to trust: degrade an explanation, Spearman of each metric with the noise (F-Fidelity)',
    '',
    'Run `deepfaith <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  try {
    const { command } = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(await command.help());
      return 0;
    }
    return await command.run(rest);
  } catch (e) {
    if (isUserError(e)) {
      console.error(`deepfaith ${name}: ${e.message}`);
      return 2;
    }
    console.error(`deepfaith ${name}: unexpected error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}
