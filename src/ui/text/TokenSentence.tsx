/**
 * A sentence as the model reads it: its tokens (one per real position; padding is never shown),
 * each on a background coloured by its value (tokens.ts), the value on hover, unknown words
 * underlined; in the metric inspector, removed tokens greyed and struck through with the token
 * the model saw there instead. `TokenRows` shows several methods' values as rows of the same
 * sentence, each with its colour legend.
 */
import { ColorLegend } from '../image/ImageHeatmap';
import { cssRgb, fmtValue, normaliseTokens, tokenCells, tokenScale, type MapScale } from './tokens';

export interface TokenSentenceProps {
  tokens: string[];
  /** One value per position (≥ tokens.length); null = the plain sentence. */
  values?: ArrayLike<number> | null;
  scale?: MapScale | null;
  /** Per position: not in the vocabulary (read as the unknown token). */
  unknown?: ArrayLike<boolean>;
  /** Positions the model saw replaced (inspector), and what it saw at every position. */
  removed?: Set<number>;
  seen?: string[];
  /** What the value is, for the hover text. */
  valueName?: string;
  testId?: string;
  className?: string;
}

export function TokenSentence({ tokens, values = null, scale = null, unknown, removed, seen, valueName = 'value', testId, className }: TokenSentenceProps) {
  const cells = values && scale ? tokenCells(tokens, values, scale, unknown) : tokens.map((word, pos) => ({ word, pos, value: NaN, bg: null, ink: null, unknown: !!unknown?.[pos] }));
  return (
    <p className={`sentence${className ? ` ${className}` : ''}`} data-testid={testId} data-tokens={tokens.length}>
      {cells.map((c) => {
        const gone = removed?.has(c.pos);
        const title = [`“${c.word}” (token ${c.pos})`, c.bg ? `${valueName} ${fmtValue(c.value)}` : null, c.unknown ? 'not in the vocabulary: the model read the unknown token' : null, gone ? `removed: the model saw ${seen?.[c.pos] ?? 'another token'} here` : null].filter(Boolean).join(' · ');
        return (
          <span
            key={c.pos}
            className={`token${c.unknown ? ' unknown' : ''}${gone ? ' removed' : ''}`}
            data-pos={c.pos}
            data-value={c.bg ? c.value : undefined}
            title={title}
            style={c.bg && !gone ? { backgroundColor: cssRgb(c.bg), color: c.ink! } : undefined}
          >
            {gone ? (
              <>
                <s>{c.word}</s>
                <span className="as">{seen?.[c.pos] ?? '?'}</span>
              </>
            ) : (
              c.word
            )}
          </span>
        );
      })}
    </p>
  );
}

export interface TokenRow {
  id: string;
  label: string;
  /** One value per position, raw as the method gives them. */
  values: ArrayLike<number>;
  /** The same normalised over the tokens (absent: computed here). */
  normalised?: ArrayLike<number>;
  /** Shown under the label (e.g. INS/DEL). */
  note?: React.ReactNode;
}

/** Methods side by side: one row of the same sentence per method, each with its legend (normalised rows share [0, 1]). */
export function TokenRows({ tokens, unknown, rows, normalised, testId, rowTestId = (id) => `tokens-${id}` }: { tokens: string[]; unknown?: ArrayLike<boolean>; rows: TokenRow[]; normalised: boolean; testId?: string; rowTestId?: (id: string) => string }) {
  const T = tokens.length;
  return (
    <table className="token-rows" data-testid={testId}>
      <tbody>
        {rows.map((r) => {
          const v = normalised ? (r.normalised ?? normaliseTokens(r.values, T)) : r.values;
          const scale = tokenScale(v, T, normalised);
          return (
            <tr key={r.id} data-method={r.id}>
              <th scope="row">
                <span className="token-row-label">{r.label}</span>
                <ColorLegend scale={scale} width={150} label={normalised ? 'normalised attribution' : 'attribution'} testId={`legend-${rowTestId(r.id)}`} />
                {r.note}
              </th>
              <td>
                <TokenSentence tokens={tokens} values={v} scale={scale} unknown={unknown} valueName={normalised ? 'normalised attribution' : 'attribution'} testId={rowTestId(r.id)} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
