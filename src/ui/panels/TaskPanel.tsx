import { useEffect, useRef, useState } from 'react';
import { DEMOS } from '../../core/data/demos';
import { isUserError } from '../../core/errors';
import { useStudio, useStudioStore } from '../../store/hooks';
import { canLoadTask, type Problem } from '../../store/store';
import { Empty, Help, ProblemBox, fmtNum } from '../components/common';
import { PreparedImport } from './PreparedImport';
import { PANEL_HELP } from '../teaching';
import { missingShards, sourceOf, textSourceOf, type Staged } from './files';
import { droppedItems, imageSourceOf, pickedItems, stageDrop, type DroppedItem, type ImageStaged } from '../image/drop';
import { BlurSigmaSetting, ImageTaskFacts, ImageTaskSettings } from '../image/ImageTask';
import { TaskNotices, TextColumnPick, TextPreview, TextTaskFacts, TextTaskSettings } from '../text/TextTask';

export function TaskPanel() {
  const store = useStudioStore();
  const info = useStudio((s) => s.info);
  const taskError = useStudio((s) => s.taskError);
  const labelChoices = useStudio((s) => s.labelChoices);
  const settings = useStudio((s) => s.settings);
  const loadDemo = useStudio((s) => s.loadDemo);
  const loadFiles = useStudio((s) => s.loadFiles);
  const loadImages = useStudio((s) => s.loadImages);
  const loadText = useStudio((s) => s.loadText);
  const pickLabel = useStudio((s) => s.pickLabel);
  const setSettings = useStudio((s) => s.setSettings);
  const source = useStudio((s) => s.source);
  const busy = useStudio((s) => s.busy);
  const trainStatus = useStudio((s) => s.trainStatus);
  const gate = canLoadTask({ busy, trainStatus });
  const [staged, setStagedState] = useState<ImageStaged>({ shards: [] });
  // drops are taken one after another, each on the files the one before left staged: a drop made
  // while the last one is still loading waits for it (instead of being refused as "busy" or staged
  // on a stale copy)
  const stagedNow = useRef(staged);
  const setStaged = (next: ImageStaged | ((s: ImageStaged) => ImageStaged)) => {
    stagedNow.current = typeof next === 'function' ? next(stagedNow.current) : next;
    setStagedState(stagedNow.current);
  };
  const drops = useRef({ queue: Promise.resolve(), pending: 0 });
  const [looseClass, setLooseClass] = useState('0');
  const [imageLimit, setImageLimit] = useState('');
  const limit = /^\d+$/.test(imageLimit.trim()) ? Number(imageLimit.trim()) : 0;
  const [dropError, setDropError] = useState<Problem | null>(null);
  const [over, setOver] = useState(false);
  const [loadState, setLoadState] = useState<LoadState>('idle');
  const textChoices = useStudio((s) => s.textChoices);
  // dropped text files that waited for their text column are loaded once it is chosen
  useEffect(() => {
    if (source?.kind === 'text') setStaged((s) => (s.vocab ? { shards: [] } : s));
  }, [source]);

  /** Take a drop after the ones before it; refused only when other work (not an earlier drop) holds the task. */
  function enqueue(items: DroppedItem[] | Promise<DroppedItem[]>) {
    const d = drops.current;
    if (d.pending === 0) {
      const now = canLoadTask(store.getState());
      if (!now.ok) {
        void Promise.resolve(items).catch(() => undefined);
        return setDropError({ what: 'Another task cannot be loaded now.', todo: now.why! });
      }
    }
    d.pending++;
    d.queue = d.queue
      .then(async () => take(await items))
      .catch((e) => setDropError({ what: String(e), todo: 'Try other files.' }))
      .finally(() => void d.pending--);
  }

  async function take(items: DroppedItem[]) {
    const now = canLoadTask(store.getState());
    if (!now.ok) return setDropError({ what: 'Another task cannot be loaded now.', todo: now.why! });
    setDropError(null);
    setLoadState('idle');
    store.setState({ taskError: null, labelChoices: null, textChoices: null, pendingText: null }); // a new drop replaces the last drop's message
    try {
      const { ignored, ...next } = await stageDrop(items, stagedNow.current, looseClass.trim() || '0');
      setStaged(next);
      if (ignored.length) setDropError({ what: `Ignored ${ignored.join(', ')}: neither a model file, a CSV nor image data.`, todo: 'Nothing to do; the other files were taken.' });
      const images = imageSourceOf(next, limit);
      const text = images ? null : textSourceOf(next);
      const src = images ?? text ?? sourceOf(next);
      if (src) {
        setLoadState('loading');
        const ok = src.kind === 'images' ? await loadImages(src) : src.kind === 'text' ? await loadText(src) : await loadFiles(src);
        setLoadState(ok ? 'idle' : 'failed');
        if (ok) setStaged({ shards: [] });
      }
    } catch (e) {
      setLoadState('failed');
      setDropError(isUserError(e) ? { what: e.what, todo: e.todo } : { what: String(e), todo: 'Try other files.' });
    }
  }

  return (
    <section className="panel" aria-labelledby="task-h">
      <header className="panel-head">
        <h2 id="task-h">1 · Task</h2>
        <Help topic={PANEL_HELP.task} />
      </header>
      <div className="cols">
        <div className="col">
          <h3>Built-in demos</h3>
          <ul className="demo-list">
            {DEMOS.map((d) => (
              <li key={d.id}>
                <button type="button" className={source?.kind === 'demo' && source.demoId === d.id ? 'demo active' : 'demo'} data-demo={d.id} disabled={!gate.ok} title={gate.why} onClick={() => loadDemo(d.id)}>
                  <strong>{d.name}</strong>
                  <span>{d.description}</span>
                </button>
              </li>
            ))}
          </ul>
          {!gate.ok && (
            <p className="hint" role="status" data-testid="load-locked">
              {gate.why}
            </p>
          )}
          <h3>Or your own model and data</h3>
          <div
            className={over ? 'dropzone over' : 'dropzone'}
            data-testid="dropzone"
            onDragOver={(e) => {
              e.preventDefault();
              setOver(true);
            }}
            onDragLeave={() => setOver(false)}
            onDrop={async (e) => {
              e.preventDefault();
              setOver(false);
              enqueue(droppedItems(e.dataTransfer));
            }}
          >
            <p>
              Drop a TensorFlow.js model folder (<code>model.json</code> + <code>.bin</code> shards) and a <code>.csv</code> here — for a text model with its <code>vocab.json</code> too; for an image model, a folder with one sub-folder per class of PNG/JPEG images, a <code>.zip</code> of it, or an NPY/IDX array with its labels file
            </p>
            <label className="file-btn">
              Choose files…
              <input type="file" multiple disabled={!gate.ok} onChange={(e) => e.target.files && enqueue(pickedItems([...e.target.files]))} data-testid="pick-files" />
            </label>{' '}
            <label className="file-btn">
              Choose an image folder…
              <input type="file" multiple {...{ webkitdirectory: '' }} disabled={!gate.ok} onChange={(e) => e.target.files && enqueue(pickedItems([...e.target.files]))} data-testid="pick-folder" />
            </label>
            <p className="hint">
              <label>
                Images dropped loose (not in a class folder) are class{' '}
                <input className="short" value={looseClass} onChange={(e) => setLooseClass(e.target.value.replace(/[/\\]/g, ''))} data-testid="loose-class" />
              </label>
            </p>
            <p className="hint">
              <label>
                Read at most{' '}
                <input className="short" inputMode="numeric" placeholder="all" value={imageLimit} onChange={(e) => setImageLimit(e.target.value.replace(/[^\d]/g, ''))} data-testid="image-limit" /> images (first in path order; empty = all, up to 10,000)
              </label>
              {loadState === 'failed' && imageSourceOf(staged) && (
                <>
                  {' '}
                  <button type="button" onClick={() => enqueue([])} data-testid="image-reload">
                    Load the dropped images again
                  </button>
                </>
              )}
            </p>
            {(staged.modelJson || staged.csv || staged.shards.length > 0 || (staged.images?.length ?? 0) > 0) && (
              <p className="staged" data-testid="staged">
                {textChoices ? 'All files present: choose the text column below.' : stillNeeded(staged, loadState)}{' '}
                <span className="hint">
                  (have: {[staged.modelJson?.name, ...staged.shards.map((s) => s.name), staged.vocab?.name, staged.csv?.name, staged.images?.length ? `${staged.images.length} image data file${staged.images.length > 1 ? 's' : ''}` : null].filter(Boolean).join(', ')})
                </span>
              </p>
            )}
          </div>
          <ProblemBox problem={dropError} testId="drop-error" />
          <ProblemBox problem={taskError} testId="task-error" />
          <PreparedImport />
          <TextColumnPick />
          {(labelChoices || ((source?.kind === 'files' || source?.kind === 'text') && info)) && (
            <div className="label-pick">
              <label>
                Label column{' '}
                <select
                  value={labelChoices ? '' : info!.labelName}
                  onChange={(e) => e.target.value && pickLabel(e.target.value)}
                  data-testid="label-pick"
                >
                  {labelChoices && <option value="">choose…</option>}
                  {(labelChoices ?? info!.columns).map((c) => (
                    <option key={c}>{c}</option>
                  ))}
                </select>
              </label>
              <span className="hint">{source?.kind === 'text' || info?.text ? ' the class of each text; other columns are not read' : ' every other column is a feature, in file order'}</span>
            </div>
          )}
          <h3>Settings</h3>
          <ImageTaskSettings />
          <TextTaskSettings />
          {!info?.text && <div className="form-row">
            <label>
              Baseline (removed features become){' '}
              <select value={settings.baseline} onChange={(e) => setSettings({ baseline: e.target.value as 'zero' | 'mean' | 'blur' })} data-testid="setting-baseline">
                <option value="mean">{info?.image ? 'per-pixel mean' : 'column mean'} (of the explained rows)</option>
                <option value="zero">zero</option>
                {info?.image && <option value="blur">a blur of the image itself (Gaussian)</option>}
              </select>
            </label>
          </div>}
          <BlurSigmaSetting />
          <div className="form-row">
            <label>
              Class to explain{' '}
              <select value={settings.target} onChange={(e) => setSettings({ target: e.target.value as 'predicted' | 'label' })} data-testid="setting-target">
                <option value="predicted">the model’s prediction</option>
                <option value="label">the row’s label</option>
              </select>
            </label>
          </div>
          <p className="hint">Both apply to the next Explain and are written into the job (Report → Download job JSON).</p>
        </div>
        <div className="col wide">
          {!info ? (
            <Empty>No task yet. Pick a demo on the left (Iris is the quickest), or drop your own model folder and CSV.</Empty>
          ) : (
            <div className="task-info" data-testid="task-info">
              <h3>{info.sourceLabel}</h3>
              <dl className="facts">
                <dt>Rows</dt>
                <dd data-testid="n-rows">{info.nRows}</dd>
                <dt>Features</dt>
                <dd>{info.nFeatures}</dd>
                <dt>Classes</dt>
                <dd>{info.classNames.join(', ')}</dd>
                <dt>Label column</dt>
                <dd>{info.labelName}</dd>
                <dt>Model accuracy on these rows</dt>
                <dd data-testid="accuracy">{fmtNum(info.accuracy * 100, 1)} %</dd>
                {info.metaAccuracy !== undefined && (
                  <>
                    <dt>Reported test accuracy</dt>
                    <dd>{fmtNum(info.metaAccuracy * 100, 1)} %</dd>
                  </>
                )}
                {!info.text && (
                  <>
                    <dt>Baseline of the next Explain</dt>
                    <dd>{settings.baseline === 'mean' ? (info.image ? 'per-pixel mean (of the explained rows)' : 'column mean (of the explained rows)') : 'zero'}</dd>
                  </>
                )}
                <ImageTaskFacts />
                <TextTaskFacts />
              </dl>
              <TaskNotices />
              {info.text ? (
                <TextPreview />
              ) : (
                <>
                  <h4>Features</h4>
                  <ol className="feature-list">
                    {info.featureNames.map((f) => (
                      <li key={f}>{f}</li>
                    ))}
                  </ol>
                </>
              )}
              <h4>Problems found</h4>
              {info.problems.length === 0 ? (
                <p className="ok">None.</p>
              ) : (
                <ul className="problems" data-testid="problems">
                  {info.problems.map((p) => (
                    <li key={p}>{p}</li>
                  ))}
                </ul>
              )}
              <p className="hash">
                model SHA-256 <code>{info.modelSha256.slice(0, 16)}…</code> · data SHA-256 <code>{info.dataSha256.slice(0, 16)}…</code>
              </p>
            </div>
          )}
        </div>
      </div>
    </section>
  );
}

type LoadState = 'idle' | 'loading' | 'failed';

/**
 * What a partial drop still lacks, in plain words. “All files present.” only while the complete set
 * is loading (after a successful load the staged files are cleared); after a failed load it points
 * at the problem shown below instead.
 */
export function stillNeeded(staged: Staged & Pick<ImageStaged, 'images'>, loadState: LoadState = 'idle'): string {
  const shards = missingShards(staged);
  const missing = [staged.modelJson ? null : 'the model’s model.json', shards.length ? `its weight file${shards.length > 1 ? 's' : ''} ${shards.join(', ')}` : null, staged.csv || staged.images?.length ? null : 'a .csv data file'].filter(Boolean);
  if (missing.length) return `Still needed: ${missing.join(' and ')}.`;
  return loadState === 'failed' ? 'These files could not be loaded (see the problem below).' : 'All files present.';
}
