/**
 * The Explain panel for text tasks: the chosen row's sentence once per method (and the trained
 * explainer), as rows of the same sentence with each token's background on the method's colour
 * scale (raw values, or normalised over the sentence's tokens as scored); below, every explained
 * row's sentence under one method (normalised), a click picks the row.
 */
import { useMemo, useState } from 'react';
import { useStudio } from '../../store/hooks';
import { EXPLAINER_ID } from '../../store/store';
import type { TaskInfo } from '../../worker/protocol';
import { TokenRows, TokenSentence, type TokenRow } from './TokenSentence';
import { tokenScale } from './tokens';

/** Row r's tokens and which of them the model read as the unknown token. */
export function rowTokens(info: TaskInfo, row: number): { tokens: string[]; unknown: boolean[] } {
  const t = info.text!;
  const tokens = t.tokens[row] ?? [];
  const L = t.maxLength;
  return { tokens, unknown: tokens.map((_, p) => info.x[row * L + p] === t.unk) };
}

/** Raw or normalised values. */
export function ValuesPick({ normalised, onChange, testId = 'token-values' }: { normalised: boolean; onChange: (v: boolean) => void; testId?: string }) {
  return (
    <label>
      Values{' '}
      <select value={normalised ? 'normalised' : 'raw'} onChange={(e) => onChange(e.target.value === 'normalised')} data-testid={testId}>
        <option value="raw">as the method gives them</option>
        <option value="normalised">min–max normalised over the sentence (as scored)</option>
      </select>
    </label>
  );
}

export function TextExplainView() {
  const info = useStudio((s) => s.info)!;
  const attribution = useStudio((s) => s.attribution)!;
  const explainer = useStudio((s) => s.explainer);
  const methods = useStudio((s) => s.methods);
  const sample = useStudio((s) => s.sample);
  const setSample = useStudio((s) => s.setSample);
  const [normalised, setNormalised] = useState(false);
  const [stripMethod, setStripMethod] = useState('');
  const n = info.nFeatures;
  const row = attribution.rows[sample];
  const { tokens, unknown } = rowTokens(info, row);
  const labelOf = (id: string) => (id === EXPLAINER_ID ? 'DeepFaith explainer' : (methods.find((m) => m.id === id)?.label ?? id));

  const rows = useMemo(() => {
    const out: TokenRow[] = attribution.explanations.map((e) => ({ id: e.methodId, label: labelOf(e.methodId), values: e.values.subarray(sample * n, (sample + 1) * n), normalised: e.normalised.subarray(sample * n, (sample + 1) * n) }));
    if (explainer?.saliency && explainer.saliency.length === attribution.rows.length * n) out.push({ id: EXPLAINER_ID, label: labelOf(EXPLAINER_ID), values: explainer.saliency.subarray(sample * n, (sample + 1) * n) });
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [attribution, explainer, sample, n, methods]);

  const stripId = stripMethod || attribution.explanations[0]?.methodId || '';
  const strip = attribution.explanations.find((e) => e.methodId === stripId);
  const shown = attribution.rows.slice(0, 40);
  return (
    <div className="text-explain" data-testid="text-explain">
      <div className="toolbar">
        <ValuesPick normalised={normalised} onChange={setNormalised} />
        <span className="hint">
          Row {row}: {tokens.length} token{tokens.length === 1 ? '' : 's'}
          {info.text!.truncatedRows.includes(row) ? ` (truncated to the model's ${info.text!.maxLength})` : ''}; hover a word for its value; underlined words are not in the vocabulary.
        </span>
      </div>
      <TokenRows tokens={tokens} unknown={unknown} rows={rows} normalised={normalised} testId="token-rows" />
      <h4>
        Every explained row with{' '}
        <select value={stripId} onChange={(e) => setStripMethod(e.target.value)} data-testid="strip-method">
          {attribution.explanations.map((e) => (
            <option key={e.methodId} value={e.methodId}>
              {labelOf(e.methodId)}
            </option>
          ))}
        </select>{' '}
        <span className="hint">(normalised; click a row to show it above)</span>
      </h4>
      <ol className="sentence-strip" data-testid="sentence-strip">
        {strip &&
          shown.map((r, i) => {
            const v = strip.normalised.subarray(i * n, (i + 1) * n);
            const t = rowTokens(info, r);
            return (
              <li key={r}>
                <button type="button" className={i === sample ? 'sentence-pick current' : 'sentence-pick'} onClick={() => setSample(i)} aria-label={`row ${r}`} data-row={r}>
                  <span className="row-no">{r}</span>
                  <TokenSentence tokens={t.tokens} values={v} scale={tokenScale(v, t.tokens.length, true)} unknown={t.unknown} valueName="normalised attribution" className="compact" />
                </button>
              </li>
            );
          })}
      </ol>
      {attribution.rows.length > shown.length && <p className="hint">… the first {shown.length} of {attribution.rows.length} rows (pick others with the sample picker)</p>}
    </div>
  );
}
