import { Component, useEffect, useRef, type ReactNode } from 'react';
import type { Problem } from '../../store/store';
import { useStore } from 'zustand';
import { useStudioStore } from '../../store/hooks';
import { downloadBlob, svgString, svgToPng } from '../plots/export';
import { provenance } from '../provenance';
import type { Topic } from '../teaching';

/** An inline message naming the problem and the fix. */
export function ProblemBox({ problem, testId }: { problem: Problem | null; testId?: string }) {
  if (!problem) return null;
  return (
    <div className="problem" role="alert" data-testid={testId}>
      <strong>{problem.what}</strong> <span>{problem.todo}</span>
    </div>
  );
}

/** "What is this": one click away, keyboard reachable (a <details>). */
export function Help({ topic, label = 'What is this?' }: { topic: Topic; label?: string }) {
  return (
    <details className="help">
      <summary>{label}</summary>
      <div className="help-body">
        <p>{topic.plain}</p>
        {topic.formula && (
          <p className="formula">
            <code>{topic.formula}</code>
          </p>
        )}
        {topic.better && <p className="better">{topic.better}</p>}
      </div>
    </details>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** A d3 plot: calls `draw(el)` when deps change; offers SVG and PNG downloads with provenance. */
export function Plot({ draw, deps, name, testId }: { draw: (el: HTMLDivElement) => void; deps: unknown[]; name: string; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const store = useStudioStore();
  useEffect(() => {
    if (ref.current) draw(ref.current);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  const svg = () => ref.current?.querySelector('svg') as SVGSVGElement | null;
  return (
    <figure className="plot" data-testid={testId}>
      <div ref={ref} className="plot-host" />
      <figcaption className="plot-tools">
        <button
          type="button"
          className="link"
          onClick={() => {
            const s = svg();
            if (s) downloadBlob(new Blob([svgString(s, provenance(store.getState()))], { type: 'image/svg+xml' }), `${name}.svg`);
          }}
        >
          SVG
        </button>
        <button
          type="button"
          className="link"
          onClick={async () => {
            const s = svg();
            if (!s) return;
            const w = Number(s.getAttribute('width'));
            const h = Number(s.getAttribute('height'));
            downloadBlob(await svgToPng(svgString(s, provenance(store.getState())), w, h), `${name}.png`);
          }}
        >
          PNG
        </button>
      </figcaption>
    </figure>
  );
}

export class ErrorBoundary extends Component<{ children: ReactNode; area: string }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    if (this.state.error)
      return (
        <div className="problem" role="alert">
          <strong>The {this.props.area} view failed to draw: {this.state.error.message}</strong>{' '}
          <span>Your results are kept. </span>
          <button type="button" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      );
    return this.props.children;
  }
}

export function fmtNum(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : String(v);
  return v.toFixed(digits);
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

/** A run estimated at more than a minute waits here for the user's yes (the cost model: core/estimate.ts). */
export function ConfirmRun({ step }: { step: 'explain' | 'evaluate' }) {
  const store = useStudioStore();
  const confirm = useStore(store, (s) => s.confirm);
  const backend = useStore(store, (s) => s.backend?.stages?.score.backend ?? s.backend?.chosen); // rows through the model run on the score stage's backend
  if (!confirm || confirm.step !== step) return null;
  const run = () => (step === 'explain' ? store.getState().runExplain({ confirmed: true }) : store.getState().runEvaluate({ confirmed: true }));
  return (
    <div className="stale" role="alertdialog" aria-label="Long run" data-testid="confirm-run">
      <span>
        This sends about <strong>{confirm.rows.toLocaleString('en')}</strong> rows through the model: about <strong>{fmtMs(confirm.ms)}</strong> on {backend ?? 'this backend'} (measured on this task). It can be cancelled at any time.
      </span>
      <button type="button" className="primary" onClick={() => run()} data-testid="confirm-start">
        Start
      </button>
      <button type="button" onClick={() => store.getState().dismissConfirm()}>
        Not now
      </button>
    </div>
  );
}
