/**
 * The studio's store on image tasks, driving the real worker handler in-process: the patch size and
 * normalisation chosen in the Task panel reload the images, are written into the job (task.patch,
 * task.normalise) and clear results of the old features; a setting the engine refuses shows its
 * message and keeps the task and the settings it was loaded with; tabular tasks never get them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveJob } from '../core/job';
import { WorkerClient } from '../worker/client';
import { createStudioStore, type StudioStore } from './store';
import { memoryPersistence } from './persist';
import { inProcessWorker } from '../../tests/helpers/inProcessWorker';
import { useBackend } from '../../tests/helpers/models';

async function newStore(): Promise<StudioStore> {
  const store = createStudioStore({ client: new WorkerClient(inProcessWorker()), persistence: memoryPersistence(), baseUrl: '' });
  await store.getState().initBackend('wasm');
  return store;
}

beforeAll(() => useBackend('wasm'));

describe('image task settings', () => {
  it('patch and normalisation reload the images, go into the job and clear results of the old features; a refused patch keeps the task', async () => {
    const store = await newStore();
    const st = () => store.getState();
    expect(await st().loadDemo('digits')).toBe(true);
    expect(st().info!.image).toMatchObject({ height: 8, width: 8, channels: 1, patch: 1, gridRows: 8, gridCols: 8, normalise: '0-1', format: 'npy' });
    expect(st().info!.nFeatures).toBe(64);
    expect(st().exportJob().task).toEqual({ demo: 'digits', baseline: 'mean', output: 'probability', target: 'predicted', maxRows: 1797 });

    for (const m of st().methods) st().setMethod(m.id, { enabled: m.id === 'saliency' });
    st().setRows({ count: 5 });
    expect(await st().runExplain()).toBe(true);
    expect(st().attribution!.explanations[0].values.length).toBe(5 * 64);

    expect(await st().setImageSettings({ patch: 2 })).toBe(true);
    expect(st().info!.nFeatures).toBe(16);
    expect(st().info!.featureNames[5]).toBe('patch 1,1');
    expect(st().attribution).toBeNull(); // explanations of 64 patches do not belong to a 16-patch task
    expect(st().rows.count).toBe(5);
    expect(await st().setImageSettings({ normalise: '-1-1' })).toBe(true);
    expect(st().info!.image!.normalise).toBe('-1-1');
    expect(st().info!.x[0]).toBeCloseTo(-1, 6); // the digits' corner pixel is 0 on the 0–1 scale
    const job = st().exportJob();
    expect(job.task).toEqual({ demo: 'digits', baseline: 'mean', output: 'probability', target: 'predicted', maxRows: 5, patch: 2, normalise: '-1-1' });
    expect(resolveJob(job).task.patch).toBe(2);
    expect(await st().runExplain()).toBe(true);
    expect(st().attribution!.explanations[0].values.length).toBe(5 * 16);

    // one patch covering the whole image is refused by the engine: message shown, task and settings kept
    const info = st().info;
    expect(await st().setImageSettings({ patch: 8 })).toBe(false);
    expect(st().taskError?.what).toMatch(/Patch size 8 covers the whole 8×8 image with one patch/);
    expect(st().info).toBe(info);
    expect(st().settings.patch).toBe(2);
    expect(st().attribution).not.toBeNull();

    // a tabular task is loaded without them and its job has none
    expect(await st().loadDemo('iris')).toBe(true);
    expect(st().info!.image).toBeUndefined();
    expect(st().exportJob().task).toEqual({ demo: 'iris', baseline: 'mean', output: 'probability', target: 'predicted', maxRows: 150 });
  });

  it('the blur baseline and its σ go into the job and the explanations use them; a table gets the studio\'s baseline back', async () => {
    const store = await newStore();
    const st = () => store.getState();
    expect(await st().loadDemo('digits')).toBe(true);
    for (const m of st().methods) st().setMethod(m.id, { enabled: m.id === 'integrated-gradients' });
    st().setRows({ count: 4 });
    st().setSettings({ baseline: 'blur', blurSigma: 1.5 });
    expect(st().exportJob().task).toMatchObject({ demo: 'digits', baseline: 'blur', blurSigma: 1.5 });
    expect(await st().runExplain()).toBe(true);
    expect(st().attribution!.baseline).toBe('blur');
    const withBlur = Array.from(st().attribution!.explanations[0].values);
    st().setSettings({ blurSigma: 0 }); // σ 0: the blur of a row is the row itself, so IG's path is empty
    expect(await st().runExplain()).toBe(true);
    expect(Array.from(st().attribution!.explanations[0].values).every((v) => v === 0)).toBe(true);
    expect(withBlur.some((v) => v !== 0)).toBe(true);
    expect(await st().loadDemo('iris')).toBe(true);
    expect(st().settings.baseline).toBe('mean');
    expect(st().exportJob().task).toEqual({ demo: 'iris', baseline: 'mean', output: 'probability', target: 'predicted', maxRows: 150 });
  });
});
