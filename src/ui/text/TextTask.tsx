/**
 * The Task panel's text parts: the text column of dropped files (and the label column beside it,
 * the panel's own picker), the mask token (job task.maskToken; changing it reads the texts again),
 * the vocabulary's facts as rows of the panel's facts list, the loader's notices (truncated
 * texts, unknown words), and the first texts as the model reads them.
 */
import { useEffect, useState } from 'react';
import { useStudio } from '../../store/hooks';
import { canLoadTask } from '../../store/store';
import { fmtNum } from '../components/common';
import { TokenSentence } from './TokenSentence';
import { rowTokens } from './TextExplainView';

/** The text column of dropped text files: asked for when it cannot be guessed, changeable after a load. */
export function TextColumnPick() {
  const info = useStudio((s) => s.info);
  const source = useStudio((s) => s.source);
  const textChoices = useStudio((s) => s.textChoices);
  const setTextSettings = useStudio((s) => s.setTextSettings);
  const loaded = source?.kind === 'text' && info?.text ? info : null;
  if (!textChoices && !loaded) return null;
  return (
    <div className="label-pick">
      <label>
        Text column{' '}
        <select value={textChoices ? '' : loaded!.text!.column} onChange={(e) => e.target.value && setTextSettings({ text: e.target.value })} data-testid="text-pick">
          {textChoices && <option value="">choose…</option>}
          {(textChoices ?? loaded!.columns).map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      </label>
      <span className="hint"> the column holding the texts (job task.text)</span>
    </div>
  );
}

/** The mask token: what removal writes instead of the pad token (a token of the vocabulary). */
export function TextTaskSettings() {
  const info = useStudio((s) => s.info);
  const settings = useStudio((s) => s.settings);
  const setTextSettings = useStudio((s) => s.setTextSettings);
  const busy = useStudio((s) => s.busy);
  const trainStatus = useStudio((s) => s.trainStatus);
  const [value, setValue] = useState(settings.maskToken ?? '');
  useEffect(() => setValue(settings.maskToken ?? ''), [settings.maskToken]);
  // shown for a text task, and while a mask token waits for one (set by a job link, or refused by the vocabulary)
  const t = info?.text ?? (settings.maskToken !== undefined ? { padToken: '<pad>', unkToken: '<unk>' } : null);
  if (!t) return null;
  const gate = canLoadTask({ busy, trainStatus });
  const changed = value.trim() !== (settings.maskToken ?? '');
  return (
    <div className="text-settings" data-testid="text-settings">
      <div className="form-row">
        <label>
          Removed tokens become{' '}
          <input className="token-input" value={value} placeholder={t.padToken} onChange={(e) => setValue(e.target.value)} disabled={!gate.ok} title={gate.why} data-testid="setting-mask" />
        </label>
        <button type="button" disabled={!gate.ok || !changed} onClick={() => setTextSettings({ maskToken: value.trim() === '' ? null : value.trim() })} data-testid="setting-mask-apply">
          Apply
        </button>
      </div>
      <p className="hint">
        Empty: the pad token {t.padToken} (the default). Another token of the vocabulary (e.g. {t.unkToken}) is a mask token: removal and insertion write it at a removed word’s position (job task.maskToken); the texts are read again. A text task has no mean baseline.
      </p>
    </div>
  );
}

export function TextTaskFacts() {
  const info = useStudio((s) => s.info);
  const t = info?.text;
  if (!info || !t) return null;
  const T = Array.from(t.lengths);
  const mean = T.reduce((a, b) => a + b, 0) / Math.max(1, T.length);
  return (
    <>
      <dt>Text column</dt>
      <dd>{t.column}</dd>
      <dt>Vocabulary</dt>
      <dd data-testid="text-vocab">
        {t.vocab ? `${t.vocab}: ` : ''}
        {t.vocabSize.toLocaleString('en')} tokens{t.lowercase ? ', lower-cased' : ''}
      </dd>
      <dt>Sequence length L</dt>
      <dd data-testid="text-length">
        {t.maxLength} token ids (a sentence’s features are its own tokens: {fmtNum(mean, 1)} on average, at most {Math.max(...T)})
      </dd>
      <dt>Removed tokens become</dt>
      <dd data-testid="text-removal">{t.maskToken !== undefined ? `the mask token ${t.removalToken}` : `the pad token ${t.padToken}`}</dd>
      <dt>On the way in</dt>
      <dd data-testid="text-changes">
        {t.truncatedRows.length} text{t.truncatedRows.length === 1 ? '' : 's'} truncated to {t.maxLength} tokens; {t.unknownWords.toLocaleString('en')} of {t.totalWords.toLocaleString('en')} words ({fmtNum((100 * t.unknownWords) / Math.max(1, t.totalWords), 1)} %) read as {t.unkToken}
      </dd>
    </>
  );
}

/** The loader's notices (any task; text: truncation, unknown words). */
export function TaskNotices() {
  const info = useStudio((s) => s.info);
  if (!info?.notices?.length) return null;
  return (
    <>
      <h4>Notices</h4>
      <ul className="notices" data-testid="task-notices">
        {info.notices.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
    </>
  );
}

/** The first texts as the model reads them: their tokens, unknown words underlined. */
export function TextPreview({ count = 6 }: { count?: number }) {
  const info = useStudio((s) => s.info);
  if (!info?.text) return null;
  const rows = Array.from({ length: Math.min(count, info.nRows) }, (_, r) => r);
  return (
    <>
      <h4>Features: token positions</h4>
      <p className="hint">
        {info.nFeatures} positions (token 0 … token {info.nFeatures - 1}); each text’s features are its own tokens, the positions after them are padding and never features. The first texts as the model reads them (underlined: not in the vocabulary):
      </p>
      <ol className="text-preview" start={0} data-testid="text-preview">
        {rows.map((r) => {
          const { tokens, unknown } = rowTokens(info, r);
          return (
            <li key={r}>
              <TokenSentence tokens={tokens} unknown={unknown} className="compact" />{' '}
              <span className="hint">
                {info.classNames[info.labels[r]]}
                {info.text!.truncatedRows.includes(r) ? ' · truncated' : ''}
              </span>
            </li>
          );
        })}
      </ol>
    </>
  );
}
