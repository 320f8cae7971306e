/**
 * The metric inspector on image tasks: the image the model saw at the chosen step (the replaced
 * patches outlined) beside the original row, instead of the feature table.
 */
import { useStudio } from '../../store/hooks';
import { ImageHeatmap } from './ImageHeatmap';
import { rowPixels } from './ImageExplainView';

export function PerturbedImage({ row, input, marked }: { row: number; input?: Float32Array; marked: Set<number> }) {
  const info = useStudio((s) => s.info)!;
  const g = info.image!;
  const original = rowPixels(info.x, g, row);
  const outlined = Int32Array.from(marked);
  return (
    <div className="perturbed-image" data-testid="insp-image" data-marked={outlined.length}>
      <ImageHeatmap x={input ?? original} geometry={g} outlined={outlined} grid size={200} title={`what the model saw (${outlined.length} of ${info.nFeatures} patches replaced, outlined)`} testId="insp-perturbed" />
      <ImageHeatmap x={original} geometry={g} size={200} title={`row ${row}, original`} testId="insp-original" />
    </div>
  );
}
