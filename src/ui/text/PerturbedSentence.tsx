/**
 * The metric inspector on text tasks: the sentence the model saw at the chosen step — removed tokens
 * greyed and struck through, with the token it read there instead (the pad or mask token; a noise
 * token for MC) — beside the original sentence.
 */
import { useStudio } from '../../store/hooks';
import { TokenSentence } from './TokenSentence';
import { rowTokens } from './TextExplainView';

export function PerturbedSentence({ row, seen, marked }: { row: number; seen?: string[]; marked: Set<number> }) {
  const info = useStudio((s) => s.info)!;
  const { tokens, unknown } = rowTokens(info, row);
  const removed = new Set([...marked].filter((p) => p < tokens.length));
  return (
    <div className="perturbed-sentence" data-testid="insp-sentence" data-marked={removed.size}>
      <h4>
        What the model saw ({removed.size} of {tokens.length} tokens replaced)
      </h4>
      <TokenSentence tokens={tokens} unknown={unknown} removed={removed} seen={seen} testId="insp-perturbed" />
      <h4>Row {row}, original</h4>
      <TokenSentence tokens={tokens} unknown={unknown} testId="insp-original" />
    </div>
  );
}
