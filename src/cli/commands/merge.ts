/**
 * deepfaith merge — combine the shard files of `deepfaith supervise --shard i/N` into the
 * prepared-job cache that `deepfaith run --prepared` (and the studio) import (docs/scale.md).
 */
import { parseArgs } from 'node:util';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors';
import { mergeShards, type ShardFile, type ShardSpec } from '../../core/job';
import { readJsonFile, writeJson, type CliCommand } from '../common';
import { checkOutput } from '../files';

/** The file name of a shard inside an output folder: shard-00003-of-00010.json. */
export function shardFileName(s: ShardSpec): string {
  const w = Math.max(5, String(s.count).length);
  return `shard-${String(s.index).padStart(w, '0')}-of-${String(s.count).padStart(w, '0')}.json`;
}

/** The shard files named: files as given, folders → their shard-*.json files in name order. */
export function shardPaths(args: string[]): string[] {
  return args.flatMap((a) => {
    if (!existsSync(a)) throw new UserError(`${a} does not exist.`, 'Give the shard files (or their folder) written by deepfaith supervise --shard i/N.');
    if (!statSync(a).isDirectory()) return [a];
    const files = readdirSync(a).filter((f) => /^shard-\d+-of-\d+\.json$/.test(f)).sort();
    if (!files.length) throw new UserError(`The folder ${a} holds no shard-<i>-of-<N>.json files.`, 'Give the folder deepfaith supervise --shard i/N --out <folder>/ wrote into.');
    return files.map((f) => join(a, f));
  });
}

export const command: CliCommand = {
  help: () =>
    [
      'Usage: deepfaith merge <shard.json | folder> [more…] --out <prepared.json>',
      '',
      'Combines the shards of one job (deepfaith supervise <job> --shard i/N) into its prepared-job cache:',
      'targets, split, every prior\'s normalised explanations and stored scores for all rows. Refuses shards of',
      'different jobs or runs, a shard given twice and missing shards (naming them). Then',
      '  deepfaith run <job> --prepared <prepared.json> --out <dir>',
      'trains and reports without recomputing the priors. See docs/scale.md.',
    ].join('\n'),

  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UserError(`${(e as Error).message}.`, 'Run deepfaith merge --help to see the accepted options.');
    }
    const { values, positionals } = parsed;
    if (!values.out) throw new UserError('Missing --out.', 'Say where to write the merged cache with --out prepared.json.');
    if (!positionals.length) throw new UserError('No shard files given.', 'Write deepfaith merge shards/ --out prepared.json.');
    const paths = shardPaths(positionals);
    checkOutput(values.out, paths);
    const shards = paths.map((p) => readJsonFile(p, 'Shard file', 'Give the files deepfaith supervise --shard i/N wrote.') as ShardFile);
    const merged = mergeShards(shards, paths);
    writeJson(values.out, merged);
    console.error(`deepfaith merge: ${shards.length} shards, ${merged.target.length} rows, ${merged.ranIds.length} methods × ${merged.scores.metricIds.length} metrics → ${values.out}`);
    return 0;
  },
};
