/**
 * `deepfaith validate` and `deepfaith evaluate --metrics FFID+,FFID-` in process (main()): the
 * validation JSON and table, the surrogate fine-tuned, saved to --surrogate and reloaded to the same
 * numbers, and the refusals (exit 2 with the reason).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main';
import { parseMetricIds } from '../src/cli/commands/validate';
import { parseMetricList } from '../src/cli/commands/evaluate';
import { METRICS } from '../src/core/metrics/registry';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'deepfaith-ffid-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** main(argv) with stdout/stderr captured. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

describe('deepfaith validate', () => {
  it('degrades an explanation, scores every set, writes the validation and prints the table', async () => {
    const out = join(dir, 'v.json');
    const r = await run('validate', '--demo', 'wine', '--method', 'occlusion', '--rows', '0:16', '--metrics', 'FE,DEL,FID+,FFID+', '--copies', '2', '--set', 'FFID+.finetuneEpochs=2', '--set', 'FFID+.draws=10', '--out', out);
    expect(r.code, r.err).toBe(0);
    const v = readJson(out);
    expect(v.validation.levels).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(v.validation.copies).toBe(2);
    expect(v.validation.metrics.map((m: { id: string }) => m.id)).toEqual(['FE', 'DEL', 'FID+', 'FFID+']);
    for (const m of v.validation.metrics) {
      expect(m.macro.perSeed.length).toBe(2);
      expect(m.values.length).toBe(6);
    }
    expect(v.validation.metrics[0].micro).toBe('n/a');
    expect(v.surrogate.source).toBe('fine-tuned');
    expect(v.surrogate.report.epochs).toBe(2);
    expect(v.surrogate.report.rows).toBe(178);
    expect(v.explanation.method).toBe('occlusion');
    expect(v.rows).toEqual([0, 16]);
    expect(r.out).toContain('| FFID+ | ↑ |');
    expect(v.table).toBe(r.out.trim());
    expect(r.err).toMatch(/clean accuracy .* → .*, with 1 random features removed/);
  });

  it('--size adds the explanation-size estimate; refusals exit 2 with the reason', async () => {
    const out = join(dir, 'vs.json');
    const r = await run('validate', '--demo', 'breast-cancer', '--method', 'saliency', '--rows', '0:8', '--metrics', 'RP', '--copies', '1', '--size', '--set', 'FFID+.finetuneEpochs=1', '--set', 'FFID+.draws=4', '--out', out);
    expect(r.code, r.err).toBe(0);
    const v = readJson(out);
    expect(v.size.levels.length).toBe(99);
    expect(v.size.curve.length).toBe(99);
    expect(r.out).toMatch(/Explanation size \(FFID\+ knee, 1% grid\): /);

    const neither = await run('validate', '--demo', 'wine', '--out', join(dir, 'x.json'));
    expect(neither.code).toBe(2);
    expect(neither.err).toMatch(/either --method <id> or --explanations <file>/);
    const noFfid = await run('validate', '--demo', 'wine', '--method', 'saliency', '--metrics', 'DEL', '--surrogate', join(dir, 's0'), '--out', join(dir, 'x.json'));
    expect(noFfid.code).toBe(2);
    expect(noFfid.err).toMatch(/--surrogate is given, but no F-Fidelity metric/);
    const iris = await run('validate', '--demo', 'iris', '--method', 'saliency', '--metrics', 'FFID+', '--out', join(dir, 'x.json'));
    expect(iris.code).toBe(2);
    expect(iris.err).toMatch(/⌊β·n⌋ = 0 features/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });

  it('--metrics: "all" is the ten, extras by id, unknown ids named', () => {
    expect(parseMetricIds('all')).toEqual(METRICS.map((m) => m.id));
    expect(parseMetricIds('all,FFID+,FFID-,DEL')).toEqual([...METRICS.map((m) => m.id), 'FFID+', 'FFID-']);
    expect(() => parseMetricIds('FFID')).toThrow(/Unknown metric "FFID"/);
    expect(parseMetricList('all')).toEqual(METRICS.map((m) => m.id));
    expect(parseMetricList('FFID+,AD-INS')).toEqual(['FFID+', 'AD-INS']);
  });
});

describe('deepfaith evaluate --metrics FFID+,FFID-', () => {
  it('fine-tunes the surrogate once, saves it to --surrogate, reloads it for the same numbers; refuses another β', async () => {
    const exp = join(dir, 'ig.json');
    expect((await run('attribute', '--demo', 'wine', '--method', 'integrated-gradients', '--rows', '0:12', '--target', 'label', '--out', exp)).code).toBe(0);
    const sur = join(dir, 'surrogate');
    const first = await run('evaluate', '--demo', 'wine', '--explanations', exp, '--metrics', 'FFID+,FFID-', '--set', 'FFID+.finetuneEpochs=2', '--set', 'FFID-.finetuneEpochs=2', '--set', 'FFID+.draws=8', '--set', 'FFID-.draws=8', '--surrogate', sur, '--out', join(dir, 'm1.json'));
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/surrogate saved to/);
    expect(existsSync(join(sur, 'model.json')) && existsSync(join(sur, 'weights.bin'))).toBe(true);
    expect(readJson(join(sur, 'model.json')).userDefinedMetadata.ffidelity.beta).toBe(0.1);
    const second = await run('evaluate', '--demo', 'wine', '--explanations', exp, '--metrics', 'FFID+,FFID-', '--set', 'FFID+.finetuneEpochs=2', '--set', 'FFID-.finetuneEpochs=2', '--set', 'FFID+.draws=8', '--set', 'FFID-.draws=8', '--surrogate', sur, '--out', join(dir, 'm2.json'));
    expect(second.code, second.err).toBe(0);
    expect(second.err).toMatch(/surrogate loaded from/);
    const a = readJson(join(dir, 'm1.json'));
    const b = readJson(join(dir, 'm2.json'));
    expect(b.metrics['FFID+'].perSample).toEqual(a.metrics['FFID+'].perSample);
    expect(b.metrics['FFID-'].perSample).toEqual(a.metrics['FFID-'].perSample);
    expect(a.metrics['FFID+'].direction).toBe('higher');
    expect(a.metrics['FFID+'].curves[0].length).toBe(19);
    const other = await run('evaluate', '--demo', 'wine', '--explanations', exp, '--metrics', 'FFID+', '--set', 'FFID+.beta=0.3', '--surrogate', sur, '--out', join(dir, 'm3.json'));
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/fine-tuned with β = 0\.1, but the FFID metrics ask for β = 0\.3/);
  });
});
