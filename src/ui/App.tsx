import { useEffect, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useStudioStore } from '../store/hooks';
import { useStore } from 'zustand';
import { BACKENDS, type BackendRequest } from '../core/backendNames';
import { useStudio } from '../store/hooks';
import { STEPS, type StepId } from '../store/store';
import { ErrorBoundary, ProblemBox, fmtMs } from './components/common';
import { EvaluatePanel } from './panels/EvaluatePanel';
import { ExplainPanel } from './panels/ExplainPanel';
import { ReportPanel } from './panels/ReportPanel';
import { SupervisePanel } from './panels/SupervisePanel';
import { TaskPanel } from './panels/TaskPanel';
import { TrainPanel } from './panels/TrainPanel';
import { TOUR, WALK_TRAINING } from './teaching';

const STEP_LABEL: Record<StepId, string> = { task: 'Task', explain: 'Explain', evaluate: 'Evaluate', supervise: 'Supervise', train: 'Train', report: 'Report' };

function Stepper() {
  const step = useStudio((s) => s.step);
  const setStep = useStudio((s) => s.setStep);
  const done = useStore(useStudioStore(), useShallow((s) => ({ task: !!s.info, explain: !!s.attribution, evaluate: !!s.evaluation, supervise: !!s.supervision, train: s.trainStatus === 'done', report: !!s.report })));
  return (
    <nav className="stepper" aria-label="Pipeline steps">
      <ol>
        {STEPS.map((id, i) => (
          <li key={id}>
            <button type="button" className={[id === step ? 'current' : '', done[id] ? 'done' : ''].join(' ')} aria-current={id === step ? 'step' : undefined} onClick={() => setStep(id)} data-step={id}>
              <span className="num">{done[id] ? '✓' : i + 1}</span> {STEP_LABEL[id]}
            </button>
          </li>
        ))}
      </ol>
    </nav>
  );
}

function BackendBox() {
  const backend = useStudio((s) => s.backend);
  const request = useStudio((s) => s.backendRequest);
  const stageRequests = useStudio((s) => s.stageRequests);
  const init = useStudio((s) => s.initBackend);
  const error = useStudio((s) => s.backendError);
  const busy = useStudio((s) => s.busy);
  const d = backend?.detection;
  const stages = backend?.stages;
  const split = !!stages && stages.score.backend !== stages.train.backend;
  const whyRef = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    // the "why?" note closes on a click anywhere else, like a menu
    const close = (e: MouseEvent) => {
      const el = whyRef.current;
      if (el?.open && !el.contains(e.target as Node)) el.open = false;
    };
    document.addEventListener('click', close);
    return () => document.removeEventListener('click', close);
  }, []);
  return (
    <div className="backend">
      <label>
        Backend{' '}
        <select value={request} disabled={!!busy} onChange={(e) => init(e.target.value as BackendRequest)} data-testid="backend-select">
          {BACKENDS.map((b) => (
            <option key={b}>{b}</option>
          ))}
        </select>
      </label>{' '}
      <span className="backend-in-use" data-testid="backend-chosen">
        {backend ? (split ? `using ${stages!.score.backend} to score · ${stages!.train.backend} to train` : `using ${backend.chosen}`) : 'starting…'}
      </span>
      <details className="help backend-stages" data-testid="backend-stages">
        <summary>per stage</summary>
        <div className="help-body">
          <p>Scoring (the model: loading, explanations, metrics, supervision, the report) and training (the explainer) may run on different backends. “auto” follows the backend above.</p>
          {(['score', 'train'] as const).map((stage) => (
            <p key={stage} data-testid={`stage-${stage}`}>
              <label>
                {stage === 'score' ? 'Scoring' : 'Training'}{' '}
                <select value={stageRequests[stage]} disabled={!!busy} onChange={(e) => init(undefined, { [stage]: e.target.value as BackendRequest })} data-testid={`stage-${stage}-select`}>
                  {BACKENDS.map((b) => (
                    <option key={b}>{b}</option>
                  ))}
                </select>
              </label>{' '}
              {stages && (
                <>
                  <strong data-testid={`stage-${stage}-backend`}>{stages[stage].backend}</strong>: <span data-testid={`stage-${stage}-reason`}>{stages[stage].reason}</span>
                </>
              )}
            </p>
          ))}
        </div>
      </details>
      {backend && (
        <details className="help backend-detail" ref={whyRef}>
          <summary>why?</summary>
          <div className="help-body">
            <p>{backend.reason}</p>
            <p>
              WebGPU: {d?.webgpu.available ? `${d.webgpu.fallback ? 'software (fallback) adapter' : 'hardware adapter'}${d.webgpu.architecture ? ` — ${d.webgpu.architecture}` : ''}${d.webgpu.vendor ? ` (${d.webgpu.vendor})` : ''}` : `not available${d?.webgpu.error ? ` (${d.webgpu.error})` : ''}`}
              <br />
              WebGL2: {d?.webgl.available ? `${d.webgl.software ? 'software' : 'hardware'} — ${d.webgl.renderer}` : 'not available'}
            </p>
          </div>
        </details>
      )}
      <ProblemBox problem={error} testId="backend-error" />
    </div>
  );
}

function ProgressBar() {
  const busy = useStudio((s) => s.busy);
  const cancel = useStudio((s) => s.cancel);
  if (!busy) return <div className="progress idle" aria-hidden="true" />;
  const frac = busy.total > 0 ? busy.done / busy.total : 0;
  return (
    <div className="progress" role="status" aria-live="polite" data-testid="progress">
      <div className="bar">
        <div className="fill" style={{ width: `${Math.round(frac * 100)}%` }} />
      </div>
      <span>
        {busy.stage} {busy.total > 0 && `· ${busy.done} / ${busy.total}`}
        {busy.etaMs !== null && busy.etaMs > 0 && ` · about ${fmtMs(busy.etaMs)} left`}
      </span>
      <button type="button" onClick={cancel}>
        Cancel
      </button>
    </div>
  );
}

function Saved() {
  const restoredAt = useStudio((s) => s.restoredAt);
  const clear = useStudio((s) => s.clearSaved);
  const notice = useStudio((s) => s.notice);
  return (
    <div className="saved">
      {restoredAt && (
        <span className="hint" data-testid="restored">
          Restored results saved {new Date(restoredAt).toLocaleString()}.
        </span>
      )}{' '}
      <button type="button" className="link" data-testid="clear-saved" onClick={() => clear()}>
        Clear saved data
      </button>
      {notice && (
        <span className="hint notice" role="status" data-testid="notice">
          {' '}
          {notice}
        </span>
      )}
    </div>
  );
}

function TourStart() {
  const tour = useStudio((s) => s.tour);
  const setTour = useStudio((s) => s.setTour);
  const setStep = useStudio((s) => s.setStep);
  const loadDemo = useStudio((s) => s.loadDemo);
  const busy = useStudio((s) => s.busy);
  if (tour !== null) return null;
  return (
    <button
      type="button"
      className="tour-start"
      disabled={!!busy}
      data-testid="tour-start"
      onClick={async () => {
        setTour(0);
        setStep('task');
        await loadDemo('iris');
      }}
    >
      Guided walk (Iris)
    </button>
  );
}

/** The walk's box sits above the panel, in the page's flow, so it never covers a control. */
function TourBox() {
  const store = useStudioStore();
  const tour = useStudio((s) => s.tour);
  const setTour = useStudio((s) => s.setTour);
  const setStep = useStudio((s) => s.setStep);
  const busy = useStudio((s) => s.busy);
  if (tour === null) return null;
  const stop = TOUR[tour];
  const go = async (i: number, perform: boolean) => {
    setTour(i);
    setStep(TOUR[i].step);
    if (!perform) return;
    const s = store.getState();
    switch (TOUR[i].action) {
      case 'load':
        await s.loadDemo('iris');
        break;
      case 'explain':
        await s.runExplain();
        break;
      case 'evaluate':
        await s.runEvaluate();
        break;
      case 'train':
        s.setExplainerArch(WALK_TRAINING.explainer);
        s.setTraining(WALK_TRAINING.training);
        await s.runTrain();
        break;
    }
  };
  return (
    <div className="tour" role="region" aria-label="Guided walk" data-testid="tour">
      <strong>
        {tour + 1} / {TOUR.length}
      </strong>{' '}
      {stop.text}
      <div className="tour-buttons">
        <button type="button" disabled={tour === 0 || !!busy} onClick={() => go(tour - 1, false)}>
          Back
        </button>
        {tour + 1 < TOUR.length ? (
          <button type="button" className="primary" disabled={!!busy} onClick={() => go(tour + 1, true)} data-testid="tour-next">
            {busy ? `${busy.label}…` : 'Next'}
          </button>
        ) : null}
        <button type="button" onClick={() => setTour(null)}>
          End walk
        </button>
      </div>
    </div>
  );
}

export function App() {
  const step = useStudio((s) => s.step);
  useEffect(() => {
    document.title = `DeepFaith Studio · ${STEP_LABEL[step]}`;
  }, [step]);
  const Panel = { task: TaskPanel, explain: ExplainPanel, evaluate: EvaluatePanel, supervise: SupervisePanel, train: TrainPanel, report: ReportPanel }[step];
  const idx = STEPS.indexOf(step);
  const setStep = useStudio((s) => s.setStep);
  return (
    <div className="app">
      <header className="top">
        <div className="brand">
          <h1>DeepFaith Studio</h1>
          <span className="tagline">explain a classifier · score faithfulness · train a faithful explainer</span>
        </div>
        <BackendBox />
      </header>
      <ProgressBar />
      <div className="main">
        <aside className="side">
          <Stepper />
          <TourStart />
          <Saved />
        </aside>
        <main className="content">
          <TourBox />
          <ErrorBoundary area={STEP_LABEL[step]} key={step}>
            <Panel />
          </ErrorBoundary>
          <div className="next-prev">
            {idx > 0 && (
              <button type="button" onClick={() => setStep(STEPS[idx - 1])}>
                ← {STEP_LABEL[STEPS[idx - 1]]}
              </button>
            )}
            {idx + 1 < STEPS.length && (
              <button type="button" onClick={() => setStep(STEPS[idx + 1])} data-testid="next-step">
                {STEP_LABEL[STEPS[idx + 1]]} →
              </button>
            )}
          </div>
        </main>
      </div>
    </div>
  );
}
