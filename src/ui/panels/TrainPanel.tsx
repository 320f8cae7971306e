import { useStudio } from '../../store/hooks';
import type { TrainSettings } from '../../worker/protocol';
import { Empty, Help, Plot, ProblemBox } from '../components/common';
import { renderBars } from '../plots/bars';
import { ImageSaliency } from '../image/ImageSaliency';
import { TextSaliency } from '../text/TextSaliency';
import { renderLines } from '../plots/lines';
import { PANEL_HELP } from '../teaching';

export function TrainPanel() {
  const s = useStudio((st) => st);
  const sup = s.supervision;
  const steps = s.trainSteps;
  const ts = s.trainSettings;
  const running = s.trainStatus === 'running' || s.trainStatus === 'paused';
  const events = steps.filter((x) => x.event).map((x) => ({ x: x.step, label: x.event === 'converged' ? 'converged' : 'reset', color: x.event === 'converged' ? '#2e7d32' : '#c62828' }));
  const last = steps[steps.length - 1];
  const watchRow = s.attribution?.rows[s.sample];
  const num = (k: keyof TrainSettings['training'], label: string, step = 1) => (
    <label>
      {label} <input type="number" step={step} value={ts ? (ts.training[k] as number) : ''} disabled={running || !ts} onChange={(e) => s.setTraining({ [k]: Number(e.target.value) })} data-testid={`train-${k}`} />
    </label>
  );
  const arch = (k: keyof TrainSettings['explainer'], label: string, step = 1) => (
    <label>
      {label} <input type="number" step={step} value={ts ? ts.explainer[k] : ''} disabled={running || !ts} onChange={(e) => s.setExplainerArch({ [k]: Number(e.target.value) })} data-testid={`train-${k}`} />
    </label>
  );
  const choice = (k: 'lrSchedule' | 'lcSampling' | 'lcOutput', label: string, options: [string, string][], title?: string) => (
    <label>
      {label}{' '}
      <select value={ts ? String(ts.training[k]) : ''} disabled={running || !ts} onChange={(e) => s.setTraining({ [k]: e.target.value } as Partial<TrainSettings['training']>)} data-testid={`train-${k}`} title={title}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
  const evals = s.trainEvals;
  return (
    <section className="panel" aria-labelledby="train-h">
      <header className="panel-head">
        <h2 id="train-h">5 · Train</h2>
        <Help topic={PANEL_HELP.train} />
      </header>
      {!sup || !ts ? (
        <Empty>Build the supervision set first: Explain (2) and Evaluate (3) the prior methods; Supervise (4) shows what survives.</Empty>
      ) : (
        <>
          <div className="form-grid">
            {num('epochs', 'epochs')}
            {num('batchSize', 'batch size')}
            {num('learningRate', 'learning rate', 0.0005)}
            {num('lcSubsets', 'L_LC subsets k')}
            {num('evalEvery', 'held-out eval every (epochs)')}
            {arch('dModel', 'width d')}
            {arch('nHeads', 'heads')}
            {arch('nLayers', 'layers')}
            {arch('dFF', 'FFN width')}
            <label>
              loss / mode{' '}
              <select value={ts.mode} disabled={running} onChange={(e) => s.setMode(e.target.value as TrainSettings['mode'])} data-testid="train-mode">
                <option value="full">full (α from Algorithm 1)</option>
                <option value="pc-only">L_PC only (α ≡ 1)</option>
                <option value="lc-only">L_LC only (α ≡ 0)</option>
                <option value="dedup-only">dedup only (no filter)</option>
                <option value="filter-only">filter only (no dedup)</option>
              </select>
            </label>
          </div>
          <details className="param-box" data-testid="train-more">
            <summary>more training settings</summary>
            <div className="form-grid">
              {choice('lrSchedule', 'learning-rate schedule', [
                ['constant', 'constant'],
                ['cosine', 'cosine decay to 0'],
              ])}
              {num('patience', 'early stopping patience (epochs; 0 = off)')}
              {choice('lcSampling', 'L_LC subsets', [
                ['independent', 'independent draws'],
                ['antithetic', 'antithetic pairs'],
                ['exact', 'all 2ⁿ (n ≤ 12)'],
                ['shapley', 'Shapley-kernel pairs'],
              ], "independent, antithetic or all 2ⁿ: every feature removed with probability ½, so L_LC's optimum is the Banzhaf values (the contract); Shapley-kernel pairs: subsets drawn as Kernel SHAP draws them, so L_LC's optimum is the Shapley values (an option outside METRICS.md)")}
              <label>
                <input type="checkbox" checked={!!ts.training.lcNormalised} disabled={running} onChange={(e) => s.setTraining({ lcNormalised: e.target.checked })} data-testid="train-lcNormalised" /> L_LC on the normalised output
              </label>
              {num('lcAugment', 'synthetic L_LC rows per row (0 = off)')}
              {num('lcJitter', 'their noise σ (× each value\'s std)', 0.05)}
              {choice('lcOutput', 'L_LC trained on Δ of', [
                ['task', 'the task\'s output'],
                ['logit', 'the target logit'],
              ])}
              <label>
                α updated every{' '}
                <select value={ts.training.alpha.every} disabled={running} onChange={(e) => s.setTraining({ alpha: { ...ts.training.alpha, every: e.target.value as 'epoch' | 'step' } })} data-testid="train-alpha-every">
                  <option value="epoch">epoch (mean L_PC)</option>
                  <option value="step">step</option>
                </select>
              </label>
              {arch('dropout', 'dropout', 0.01)}
              <label>
                explainer output{' '}
                <select value={ts.explainer.head ?? 'sigmoid'} disabled={running} onChange={(e) => s.setExplainerArch({ head: e.target.value as TrainSettings['explainer']['head'] })} data-testid="train-head" title="sigmoid: the contract's saliency in [0,1]; signed: the head's linear output, any sign (an option outside METRICS.md; shown and scored min–max normalised)">
                  <option value="sigmoid">sigmoid, [0,1]</option>
                  <option value="signed">signed (linear)</option>
                </select>
              </label>
              <label>
                class frame{' '}
                <select value={ts.explainer.classFrame ?? 'none'} disabled={running} onChange={(e) => s.setExplainerArch({ classFrame: e.target.value as TrainSettings['explainer']['classFrame'] })} data-testid="train-classFrame" title="none: the explanation reads the row only; sign (two-class tasks on their probability): the explainer explains class 1 and class 0's explanation is its negative, so it need not flip sign across the decision boundary; classes (tasks on their probabilities, any number of classes): one explanation per class, centred so that they sum to zero, each row shown its target class's (options outside METRICS.md)">
                  <option value="none">none</option>
                  <option value="sign">sign (two classes)</option>
                  <option value="classes">classes (one per class)</option>
                </select>
              </label>
            </div>
          </details>
          <p className="hint">Defaults are the engine’s job defaults (the same as <code>deepfaith run</code>). Z comes from the {sup.split.train.length} training rows of the job’s seeded 80/20 split; the {sup.split.test.length} held-out rows give the held-out losses.</p>
          <div className="toolbar">
            <button type="button" className="primary" disabled={running || !!s.busy} onClick={() => s.runTrain()} data-testid="train-start">
              Start training on {sup.nPairs} pairs
            </button>
            {s.checkpoint && !running && s.evaluation?.key === s.checkpoint.key && (
              <button type="button" className="primary" disabled={!!s.busy} onClick={() => s.runTrain({ resume: true })} data-testid="train-resume-checkpoint">
                Resume from step {s.checkpoint.checkpoint.step}
              </button>
            )}
            <button type="button" disabled={s.trainStatus !== 'running'} onClick={() => s.pauseTrain()}>
              Pause
            </button>
            <button type="button" disabled={s.trainStatus !== 'paused'} onClick={() => s.resumeTrain()}>
              Resume
            </button>
            <button type="button" disabled={!running} onClick={() => s.cancelTrain()} data-testid="train-cancel">
              Cancel
            </button>
            <span className="status" data-testid="train-status">
              {s.trainStatus}
              {steps.length > 0 && ` · ${steps.length} steps · ${s.stepsPerSecond.toFixed(1)} steps/s · backend ${s.backend?.chosen ?? '?'}${s.backend?.stages && s.backend.stages.score.backend !== s.backend.stages.train.backend ? ` (scoring on ${s.backend.stages.score.backend})` : ''}`}
            </span>
          </div>
          <ProblemBox problem={s.trainError} testId="train-error" />
          {steps.length > 0 && s.trainedRows !== null && s.trainedRows !== sup.split.train.length + sup.split.test.length && s.trainStatus !== 'running' && s.trainStatus !== 'paused' && (
            <p className="stale" role="status" data-testid="train-stale">
              <span>These curves are from training on the supervision set of {s.trainedRows} explained rows; the rows are now {sup.split.train.length + sup.split.test.length}. Press “Start” to train on the new set.</span>
            </p>
          )}
          {last && (
            <p className="live" data-testid="train-last">
              step {last.step}: L_PC = <span data-testid="last-lpc">{Number.isFinite(last.lPC) ? last.lPC.toFixed(5) : 'n/a (not trained)'}</span>, L_LC = <span data-testid="last-llc">{Number.isFinite(last.lLC) ? last.lLC.toFixed(5) : 'n/a (not trained)'}</span>, α = {last.alpha.toFixed(3)}
              {last.converged ? ' (converged)' : ''}
            </p>
          )}
          {steps.length === 0 ? (
            <Empty>Press “Start”: the losses and α appear here as the explainer trains.</Empty>
          ) : (
            <div className="plot-row">
              <Plot
                name="training-curves"
                testId="train-curves"
                deps={[steps.length, events.length]}
                draw={(el) =>
                  renderLines(
                    el,
                    {
                      title: 'Training: L_PC, L_LC and α (Figure 3)',
                      series: [
                        { key: 'L_PC', points: steps.map((x) => ({ x: x.step, y: x.lPC })) },
                        { key: 'L_LC', points: steps.map((x) => ({ x: x.step, y: x.lLC })) },
                        { key: 'α', points: steps.map((x) => ({ x: x.step, y: x.alpha })), right: true, dash: '5,3' },
                      ],
                      events,
                    },
                    { xLabel: 'step (minibatch, from 0)', yLabel: 'loss', yRightLabel: 'α', yRightDomain: [0, 1], width: 620, height: 300, integerX: true },
                  )
                }
              />
              {s.watchSaliency && s.info?.image && watchRow !== undefined && <ImageSaliency row={watchRow} values={s.watchSaliency} title={`Explainer saliency, row ${watchRow}`} testId="watch-heatmap" />}
              {s.watchSaliency && s.info?.text && watchRow !== undefined && <TextSaliency row={watchRow} values={s.watchSaliency} title={`Explainer saliency, row ${watchRow}`} testId="watch-sentence" />}
              {s.watchSaliency && s.info && !s.info.image && !s.info.text && (
                <Plot
                  name={`explainer-saliency-row${watchRow}`}
                  deps={[s.watchSaliency]}
                  draw={(el) => renderBars(el, { title: `Explainer saliency, row ${watchRow}`, features: s.info!.featureNames, values: s.watchSaliency! }, { domain: [0, 1], width: 320 })}
                />
              )}
            </div>
          )}
          {evals.length > 0 && (
            <table className="runtime" data-testid="train-evals">
              <caption>Held-out evaluation (test split: L_PC on its Z pairs, L_LC on its rows)</caption>
              <thead>
                <tr>
                  <th>after epoch</th>
                  <th>after step</th>
                  <th>held-out L_PC</th>
                  <th>held-out L_LC</th>
                </tr>
              </thead>
              <tbody>
                {evals.map((e) => (
                  <tr key={`${e.step}${e.kept ? '-kept' : ''}`} data-kept={e.kept ? 'true' : undefined}>
                    <td>{e.kept ? `${e.epoch + 1} (kept: best on validation rows)` : e.epoch + 1}</td>
                    <td>{e.step}</td>
                    <td>{Number.isFinite(e.lPC) ? e.lPC.toFixed(4) : 'n/a (no held-out pairs)'}</td>
                    <td>{e.lLC.toFixed(4)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
