/**
 * Filter (METRICS.md "Prior explanations → supervision"): per sample, among the candidates (the
 * explanations kept by dedup), for each metric the threshold is the p-quantile of their scores
 * (↑ metrics; pass if score ≥ threshold) or the (1−p)-quantile (↓ metrics; pass if ≤).
 * An explanation survives only if it passes every metric. Quantiles are d3-array's `quantile`,
 * which is numpy's default linear interpolation; it ignores NaN scores when placing the threshold,
 * and a NaN score fails. If every candidate's score on a metric is NaN the threshold is NaN and all fail.
 */
import { quantile } from 'd3-array';

export const defaults = { p: 0.15 };

export type Direction = 'higher' | 'lower';

export interface MetricFailure {
  /** Metric index (in the job's metric order). */
  metric: number;
  value: number;
  threshold: number;
}

export interface SampleFilter {
  /** One threshold per metric. */
  thresholds: number[];
  /** Per method: null if not a candidate; else the metrics it failed (empty = survives). */
  failures: (MetricFailure[] | null)[];
}

/**
 * scores[method][metric] for one sample; candidates[method] says which take part.
 */
export function filterSample(scores: number[][], candidates: boolean[], directions: Direction[], p: number): SampleFilter {
  const nMetrics = directions.length;
  const thresholds: number[] = [];
  for (let m = 0; m < nMetrics; m++) {
    const values: number[] = [];
    for (let j = 0; j < scores.length; j++) if (candidates[j] && !Number.isNaN(scores[j][m])) values.push(scores[j][m]);
    const q = quantile(values, directions[m] === 'higher' ? p : 1 - p);
    thresholds.push(q === undefined ? NaN : q);
  }
  const failures = scores.map((row, j) => {
    if (!candidates[j]) return null;
    const failed: MetricFailure[] = [];
    for (let m = 0; m < nMetrics; m++) {
      const v = row[m];
      const t = thresholds[m];
      const pass = !Number.isNaN(v) && !Number.isNaN(t) && (directions[m] === 'higher' ? v >= t : v <= t);
      if (!pass) failed.push({ metric: m, value: v, threshold: t });
    }
    return failed;
  });
  return { thresholds, failures };
}
