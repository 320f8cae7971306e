/**
 * The Task panel's image parts: the patch size and normalisation of an image task (written into
 * the job as task.patch / task.normalise; changing one reads the images again), and what the
 * loader did to the images (size, channels, resizes, grid), as rows of the panel's facts list.
 */
import { useState } from 'react';
import { NORMALISE_RULES, type NormaliseRule } from '../../core/data/images';
import { useStudio } from '../../store/hooks';
import { canLoadTask } from '../../store/store';

const RULE_TEXT: Record<NormaliseRule, string> = {
  '0-1': '0–1 (pixel / 255)',
  '-1-1': '−1–1 (2 · v − 1)',
  'mean-std': 'per-channel mean / std of these images',
};

/** Patch sides that leave at least two patches, with their grids (the default marked). */
function patchChoices(h: number, w: number): { patch: number; grid: string }[] {
  const out: { patch: number; grid: string }[] = [];
  for (let p = 1; p < Math.max(h, w); p++) {
    const n = Math.ceil(h / p) * Math.ceil(w / p);
    if (n < 2) break;
    if (n <= 4096 && (h % p === 0 || w % p === 0 || p <= 32)) out.push({ patch: p, grid: `${Math.ceil(h / p)}×${Math.ceil(w / p)}` });
  }
  return out;
}

export function ImageTaskSettings() {
  const info = useStudio((s) => s.info);
  const settings = useStudio((s) => s.settings);
  const setImageSettings = useStudio((s) => s.setImageSettings);
  const busy = useStudio((s) => s.busy);
  const trainStatus = useStudio((s) => s.trainStatus);
  const [pending, setPending] = useState(false);
  const img = info?.image;
  if (!img) return null;
  const gate = canLoadTask({ busy, trainStatus });
  const apply = async (s: Parameters<typeof setImageSettings>[0]) => {
    setPending(true);
    try {
      await setImageSettings(s);
    } finally {
      setPending(false);
    }
  };
  return (
    <div className="image-settings" data-testid="image-settings">
      <div className="form-row">
        <label>
          Patch size (each patch is one feature){' '}
          <select value={img.patch} disabled={!gate.ok || pending} title={gate.why} onChange={(e) => apply({ patch: Number(e.target.value) })} data-testid="setting-patch">
            {patchChoices(img.height, img.width).map((c) => (
              <option key={c.patch} value={c.patch}>
                {c.patch} px → {c.grid} patches
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="form-row">
        <label>
          Pixel values reach the model as{' '}
          <select value={settings.normalise ?? img.normalise} disabled={!gate.ok || pending} title={gate.why} onChange={(e) => apply({ normalise: e.target.value as NormaliseRule })} data-testid="setting-normalise">
            {NORMALISE_RULES.map((r) => (
              <option key={r} value={r}>
                {RULE_TEXT[r]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="hint">Use the normalisation the model was trained with. Both are written into the job (task.patch, task.normalise); changing one reads the images again.</p>
    </div>
  );
}

export function ImageTaskFacts() {
  const info = useStudio((s) => s.info);
  const img = info?.image;
  if (!info || !img) return null;
  const changes = [img.resized && `${img.resized} resized`, img.grayToRgb && `${img.grayToRgb} gray → RGB`, img.colourToGray && `${img.colourToGray} RGB read as gray`, img.alphaDropped && `${img.alphaDropped} alpha dropped`].filter(Boolean);
  return (
    <>
      <dt>Images</dt>
      <dd>
        {img.format === 'folder' ? `${img.data}/ (one sub-folder per class)` : `${img.data} (${img.format.toUpperCase()} array)`}
      </dd>
      <dt>As the model reads them</dt>
      <dd data-testid="image-shape">
        {img.width}×{img.height} px, {img.channels === 1 ? 'gray' : `${img.channels} channels`}, normalised {RULE_TEXT[img.normalise]}
      </dd>
      <dt>Patches (features)</dt>
      <dd>
        {img.patch} px → {img.gridRows}×{img.gridCols} = {info.nFeatures}
      </dd>
      <dt>On the way in</dt>
      <dd data-testid="image-changes">{changes.length ? changes.join(', ') : 'no image resized or changed in channels'}</dd>
    </>
  );
}

/** σ of the blur baseline (image tasks with the blur baseline): job task.blurSigma; absent = half the patch side. */
export function BlurSigmaSetting() {
  const info = useStudio((s) => s.info);
  const settings = useStudio((s) => s.settings);
  const setSettings = useStudio((s) => s.setSettings);
  const img = info?.image;
  if (!img || settings.baseline !== 'blur') return null;
  return (
    <div className="form-row">
      <label>
        Blur σ (pixels){' '}
        <input type="number" min={0} step={0.5} value={settings.blurSigma ?? img.patch / 2} onChange={(e) => setSettings({ blurSigma: e.target.value === '' ? undefined : Math.max(0, Number(e.target.value)) })} data-testid="setting-blur-sigma" />
      </label>{' '}
      <span className="hint">default half the patch side ({img.patch / 2})</span>
    </div>
  );
}
