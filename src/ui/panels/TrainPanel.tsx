import { useMemo } from 'react';
import { useStudio } from '../../store/hooks';
import { supervisionSet } from '../../store/store';
import { Empty, Help, Plot, ProblemBox } from '../components/common';
import { renderBars } from '../plots/bars';
import { renderLines } from '../plots/lines';
import { PANEL_HELP } from '../teaching';

export function TrainPanel() {
  const s = useStudio((st) => st);
  const sup = useMemo(() => supervisionSet(s), [s.attribution, s.evaluation, s.metrics, s.methods, s.info, s.delta, s.p]); // eslint-disable-line react-hooks/exhaustive-deps
  const steps = s.trainSteps;
  const tc = s.trainConfig;
  const running = s.trainStatus === 'running' || s.trainStatus === 'paused';
  const events = steps.filter((x) => x.event).map((x) => ({ x: x.step, label: x.event === 'converged' ? 'converged' : 'reset', color: x.event === 'converged' ? '#2e7d32' : '#c62828' }));
  const last = steps[steps.length - 1];
  const watchRow = s.attribution?.rows[s.sample];
  const num = (k: keyof typeof tc, label: string, step = 1) => (
    <label>
      {label} <input type="number" step={step} value={tc[k] as number} disabled={running} onChange={(e) => s.setTrainConfig({ [k]: Number(e.target.value) })} data-testid={`train-${k}`} />
    </label>
  );
  return (
    <section className="panel" aria-labelledby="train-h">
      <header className="panel-head">
        <h2 id="train-h">5 · Train</h2>
        <Help topic={PANEL_HELP.train} />
      </header>
      {!sup ? (
        <Empty>Build the supervision set first: Explain (2) and Evaluate (3) the prior methods; Supervise (4) shows what survives.</Empty>
      ) : (
        <>
          <div className="form-grid">
            {num('epochs', 'epochs')}
            {num('batchSize', 'batch size')}
            {num('learningRate', 'learning rate', 0.0005)}
            {num('nSubsets', 'L_LC subsets k')}
            {num('dModel', 'width d')}
            {num('nHeads', 'heads')}
            {num('nLayers', 'layers')}
            <label>
              loss{' '}
              <select value={tc.lossMode} disabled={running} onChange={(e) => s.setTrainConfig({ lossMode: e.target.value as typeof tc.lossMode })}>
                <option value="full">full (α from Algorithm 1)</option>
                <option value="pc-only">L_PC only (α ≡ 1)</option>
                <option value="lc-only">L_LC only (α ≡ 0)</option>
              </select>
            </label>
          </div>
          <div className="toolbar">
            <button type="button" className="primary" disabled={running || !!s.busy} onClick={() => s.runTrain()} data-testid="train-start">
              Start training on {sup.pairs.length} pairs
            </button>
            <button type="button" disabled={s.trainStatus !== 'running'} onClick={() => s.pauseTrain()}>
              Pause
            </button>
            <button type="button" disabled={s.trainStatus !== 'paused'} onClick={() => s.resumeTrain()}>
              Resume
            </button>
            <button type="button" disabled={!running} onClick={() => s.cancelTrain()}>
              Cancel
            </button>
            <span className="status" data-testid="train-status">
              {s.trainStatus}
              {steps.length > 0 && ` · ${steps.length} steps · ${s.stepsPerSecond.toFixed(1)} steps/s · backend ${s.backend?.chosen ?? '?'}`}
            </span>
          </div>
          <ProblemBox problem={s.trainError} testId="train-error" />
          {last && (
            <p className="live" data-testid="train-last">
              step {last.step}: L_PC = <span data-testid="last-lpc">{last.lPC.toFixed(5)}</span>, L_LC = <span data-testid="last-llc">{last.lLC.toFixed(5)}</span>, α = {last.alpha.toFixed(3)}
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
                    { xLabel: 'step (minibatch)', yLabel: 'loss', yRightLabel: 'α', yRightDomain: [0, 1], width: 620, height: 300 },
                  )
                }
              />
              {s.watchSaliency && s.info && (
                <Plot
                  name={`explainer-saliency-row${watchRow}`}
                  deps={[s.watchSaliency]}
                  draw={(el) => renderBars(el, { title: `Explainer saliency, row ${watchRow}`, features: s.info!.featureNames, values: s.watchSaliency! }, { domain: [0, 1], width: 320 })}
                />
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
