/** One row's explainer values over its sentence (Train panel's watched row, “explainer on any row”), normalised over its tokens, with its legend. */
import { useStudio } from '../../store/hooks';
import { ColorLegend } from '../image/ImageHeatmap';
import { TokenSentence } from './TokenSentence';
import { rowTokens } from './TextExplainView';
import { normaliseTokens, tokenScale } from './tokens';

export function TextSaliency({ row, values, title, testId }: { row: number; values: Float32Array; title: string; testId?: string }) {
  const info = useStudio((s) => s.info);
  if (!info?.text || values.length !== info.nFeatures) return null;
  const { tokens, unknown } = rowTokens(info, row);
  const v = normaliseTokens(values, tokens.length);
  const scale = tokenScale(v, tokens.length, true);
  return (
    <figure className="text-saliency">
      <figcaption>{title}</figcaption>
      <TokenSentence tokens={tokens} values={v} scale={scale} unknown={unknown} valueName="normalised attribution" testId={testId} />
      <ColorLegend scale={scale} width={180} label="normalised attribution" />
    </figure>
  );
}
