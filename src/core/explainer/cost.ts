/**
 * The explainer's cost model: floating-point operations of one explained row
 * through the explainer against one forward pass of the target model, and what that means for each
 * prior. Counted as multiply-adds × 2 of the matrix products and 1 per element of the element-wise
 * work; the counts are of the architecture, not of a backend, so they say where amortisation can
 * pay off before anything is timed (the frontier, core/job/frontier.ts, measures the time).
 *
 * Explainer (model.ts, T tokens of width d, L layers, FFN width f, v input values per token):
 *   embedding      2·T·v·d + T·d             (value × weight (+ position); v = 1 for tabular scalars)
 *   per layer      2 LayerNorms 2·8·T·d, Q/K/V/O projections 4·2·T·d², scores and mixing 2·2·T²·d,
 *                  softmax 5·T²·H, FFN 2·2·T·d·f + GELU 10·T·f, residuals 2·T·d
 *   head           LayerNorm 8·T·d + 2·T·d + sigmoid 4·T
 * The target model's count is task/modelFlops.ts. This file has no tfjs: the Report panel and
 * report.md read it on the main thread.
 */

export interface ExplainerShape {
  /** Tokens: one per feature (tabular column, image patch, text position). */
  tokens: number;
  /** Input values read per token (1 for a tabular scalar; a patch's pixels × channels). */
  valuesPerToken: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  dFF: number;
}

/** FLOPs of one row through the explainer. */
export function explainerFlops(s: ExplainerShape): number {
  const { tokens: T, valuesPerToken: v, dModel: d, nHeads: H, nLayers: L, dFF: f } = s;
  const embed = 2 * T * v * d + T * d;
  const layer = 2 * 8 * T * d + 4 * 2 * T * d * d + 2 * 2 * T * T * d + 5 * T * T * H + 2 * 2 * T * d * f + 10 * T * f + 2 * T * d;
  const head = 8 * T * d + 2 * T * d + 4 * T;
  return embed + L * layer + head;
}

export interface CostModel {
  /** FLOPs of one explained row through the explainer. */
  explainerFlops: number;
  /** FLOPs of one forward pass of the target model (a LayersModel; null for a GraphModel). */
  targetFlops: number | null;
  /** explainerFlops / targetFlops: the target forwards one explainer row costs (the break-even). */
  breakEvenForwards: number | null;
  /** Per prior: the target forwards it spends per explained row (core/estimate.ts) and that ÷ the break-even. */
  priors: { id: string; forwardsPerRow: number; advantage: number | null }[];
}

export function costModel(shape: ExplainerShape, targetFlops: number | null, priors: { id: string; forwardsPerRow: number }[]): CostModel {
  const e = explainerFlops(shape);
  const t = targetFlops;
  const be = t && t > 0 ? e / t : null;
  return { explainerFlops: e, targetFlops: t, breakEvenForwards: be, priors: priors.map((p) => ({ ...p, advantage: be ? p.forwardsPerRow / be : null })) };
}

/** The cost model in one paragraph (report.md, `deepfaith run`, the Report panel). */
export function costSentence(c: CostModel): string {
  const f = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} MFLOP` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} kFLOP` : `${Math.round(x)} FLOP`);
  if (c.targetFlops === null || c.breakEvenForwards === null) return `The explainer costs ${f(c.explainerFlops)} per row; the target model's cost is not counted (a GraphModel).`;
  const gains = c.priors.map((p) => `${p.id} ${p.forwardsPerRow} forwards (${p.advantage! >= 1 ? `${p.advantage!.toFixed(1)}× the explainer's cost` : `${(1 / p.advantage!).toFixed(1)}× below the explainer's cost`})`);
  return `Cost model: one row through the explainer is ${f(c.explainerFlops)}, one target forward ${f(c.targetFlops)}, so the explainer costs as much as ${c.breakEvenForwards.toFixed(1)} target forwards per row; per row the priors spend ${gains.join(', ')}.`;
}
