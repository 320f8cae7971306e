/**
 * A sentence typed by the user (text tasks, Explain panel): encoded by the worker with the engine's
 * `encodeSentence` exactly as the task's rows were read (same tokenizer, vocabulary, truncation,
 * notices; an empty one refused with the engine's message), explained by the methods ticked in the
 * panel with their parameters and the job's seed, and by the trained explainer when there is one;
 * shown as rows of the same sentence with highlighted tokens.
 */
import { useState } from 'react';
import { useStudio } from '../../store/hooks';
import { EXPLAINER_ID } from '../../store/store';
import { ProblemBox, fmtNum } from '../components/common';
import { TokenRows, type TokenRow } from './TokenSentence';
import { ValuesPick } from './TextExplainView';

export function SentenceBox() {
  const info = useStudio((s) => s.info);
  const busy = useStudio((s) => s.busy);
  const error = useStudio((s) => s.sentenceError);
  const explainSentence = useStudio((s) => s.explainSentence);
  const explainerLoaded = useStudio((s) => s.explainerLoaded);
  const last = useStudio((s) => s.sentence);
  const [text, setText] = useState(last?.text ?? '');
  const [target, setTarget] = useState('predicted');
  if (!info?.text) return null;
  return (
    <div className="sentence-box" data-testid="sentence-box">
      <h3>Your own sentence</h3>
      <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} placeholder="Type a sentence, e.g. The food was great but the service was slow." data-testid="sentence-input" />
      <div className="form-row">
        <label>
          Explain{' '}
          <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="sentence-target">
            <option value="predicted">the model’s prediction</option>
            {info.classNames.map((c, i) => (
              <option key={c} value={String(i)}>
                class {c}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!!busy} onClick={() => explainSentence(text, target === 'predicted' ? undefined : Number(target))} data-testid="sentence-run">
          Explain this sentence
        </button>
      </div>
      <p className="hint">
        Read as the task’s texts are (the vocabulary’s tokenizer, the model’s {info.text.maxLength} tokens), explained by the methods ticked below with their parameters{explainerLoaded ? ' and by the trained DeepFaith explainer' : ''}.
      </p>
      <ProblemBox problem={error} testId="sentence-error" />
    </div>
  );
}

/** The typed sentence's explanations (right column of the Explain panel). */
export function SentenceView() {
  const info = useStudio((s) => s.info);
  const sentence = useStudio((s) => s.sentence);
  const methods = useStudio((s) => s.methods);
  const [normalised, setNormalised] = useState(false);
  if (!info?.text || !sentence) return null;
  const labelOf = (id: string) => (id === EXPLAINER_ID ? 'DeepFaith explainer' : (methods.find((m) => m.id === id)?.label ?? id));
  const rows: TokenRow[] = sentence.explanations.map((e) => ({ id: e.methodId, label: labelOf(e.methodId), values: e.values, normalised: e.normalised }));
  if (sentence.explainer) rows.push({ id: EXPLAINER_ID, label: labelOf(EXPLAINER_ID), values: sentence.explainer });
  const c = sentence.target;
  return (
    <section className="sentence-view" data-testid="sentence-view">
      <h3>Your sentence</h3>
      <p className="typed">“{sentence.text}”</p>
      <p className="hint" data-testid="sentence-prediction">
        The model predicts <strong>{info.classNames[sentence.predicted]}</strong> (p = {fmtNum(sentence.proba[sentence.predicted], 3)}); explained: <strong>{info.classNames[c]}</strong> (p = {fmtNum(sentence.proba[c], 3)}). {sentence.tokens.length} token{sentence.tokens.length === 1 ? '' : 's'}.
      </p>
      {sentence.notices.length > 0 && (
        <ul className="notices" data-testid="sentence-notices">
          {sentence.notices.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      <div className="toolbar">
        <ValuesPick normalised={normalised} onChange={setNormalised} testId="sentence-values" />
      </div>
      <TokenRows tokens={sentence.tokens} unknown={sentence.unknown} rows={rows} normalised={normalised} testId="sentence-rows" rowTestId={(id) => `sentence-${id}`} />
      {sentence.skipped.length > 0 && (
        <ul className="skipped">
          {sentence.skipped.map((s) => (
            <li key={s.methodId}>
              {s.methodId} skipped: {s.reason}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
