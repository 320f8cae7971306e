/** One row's explainer map over its image (Train panel's watched row, “explainer on any row”), min–max normalised with its legend. */
import { useStudio } from '../../store/hooks';
import { ColorLegend, ImageHeatmap } from './ImageHeatmap';
import { rowPixels } from './ImageExplainView';
import { mapScale, minMax } from './heatmap';

export function ImageSaliency({ row, values, title, testId }: { row: number; values: Float32Array; title: string; testId?: string }) {
  const info = useStudio((s) => s.info);
  if (!info?.image || values.length !== info.nFeatures) return null;
  const v = minMax(values);
  const scale = mapScale(v, true);
  return (
    <ImageHeatmap x={rowPixels(info.x, info.image, row)} geometry={info.image} values={v} scale={scale} size={200} title={title} testId={testId}>
      <ColorLegend scale={scale} width={200} label="normalised attribution" />
    </ImageHeatmap>
  );
}
