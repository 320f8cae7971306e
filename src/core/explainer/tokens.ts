/**
 * How the explainer reads a row: its token input, chosen by the task's feature space
 * (`tokenSpecFor`) and recorded in the explainer's config (`ExplainerConfig.tokens`), so a saved
 * explainer rebuilds its input without the task.
 *
 * - `scalar` (tabular, and any space without its own kind): one token per feature from the
 *   feature's one value, t_i = x̃_i · V_i + P_i (model.ts); the row is [nFeatures] values. A config
 *   without `tokens` is this kind (explainers saved before tokens were recorded).
 * - `patch` (images): one token per patch from ALL its pixels and channels: the patch's standardised
 *   input values u_f ∈ R^P (P = patch² · C, in the image's row-major order within the patch: rows,
 *   then columns, then channels — `ImageFeatureSpace.patchElements`; an edge patch's missing values
 *   are 0) through one learned linear embedding shared by all patches, t_f = u_f · E + b + P_f, with
 *   P_f the learned position embedding. The row is the model input itself, [H·W·C] values, and the
 *   standardisation is per input value (the training rows' mean and std of each pixel and channel).
 * - `token-id` (text; docs/text.md): one token per sequence position from the explainer's own
 *   embedding table of token ids plus the position embedding, t_t = E[x_t] + P_t (E ∈ R^{V×d}); the
 *   row is the model input itself, [L] token ids, read as ids (no standardisation). The output at a
 *   padded position (the pad id) is 0, so the explainer gives padding no mass.
 *
 * Pure (no tfjs): the studio's main thread may read a config's token kind.
 */
import { UserError } from '../errors';
import type { FeatureSpace } from '../task/featureSpace';

export const TOKEN_KINDS = ['scalar', 'patch', 'token-id'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** The token input of an explainer: what its config records. */
export type TokenSpec =
  | { kind: 'scalar' }
  | {
      kind: 'patch';
      /** The image the patches tile (the model input's H × W × C, row-major, channels last). */
      height: number;
      width: number;
      channels: number;
      /** Patch side in pixels (edge patches are narrower when it does not divide H or W). */
      patch: number;
    }
  | {
      kind: 'token-id';
      /** Token ids 0..vocabSize−1 (the task's vocabulary). */
      vocabSize: number;
      /** The pad id: positions holding it are padding, whose output is 0. */
      pad: number;
    };

/** The token input a feature space asks for: `patch` for image patches, `token-id` for text positions, else `scalar`. */
export function tokenSpecFor(space: FeatureSpace): TokenSpec {
  const s = space as FeatureSpace & { height?: number; width?: number; channels?: number; patch?: number; vocabSize?: number; pad?: number };
  if (space.kind === 'image' && s.height && s.width && s.channels && s.patch) return { kind: 'patch', height: s.height, width: s.width, channels: s.channels, patch: s.patch };
  if (space.kind === 'text' && s.vocabSize && s.pad !== undefined) return { kind: 'token-id', vocabSize: s.vocabSize, pad: s.pad };
  return { kind: 'scalar' };
}

/** The token spec of a config (absent = scalar). */
export function tokensOf(config: { tokens?: TokenSpec }): TokenSpec {
  return config.tokens ?? { kind: 'scalar' };
}

/** Values per row the explainer reads: nFeatures (scalar) or the image's H·W·C (patch). */
export function inputWidth(tokens: TokenSpec, nFeatures: number): number {
  return tokens.kind === 'patch' ? tokens.height * tokens.width * tokens.channels : nFeatures;
}

/** Patches down and across. */
export function patchGrid(t: Extract<TokenSpec, { kind: 'patch' }>): { rows: number; cols: number } {
  return { rows: Math.ceil(t.height / t.patch), cols: Math.ceil(t.width / t.patch) };
}

/** Values per patch token: patch² · C (an edge patch's missing ones are 0). */
export function patchTokenSize(t: Extract<TokenSpec, { kind: 'patch' }>): number {
  return t.patch * t.patch * t.channels;
}

/**
 * For each patch f and slot j < patch²·C, the input value it reads, or −1 for an edge patch's
 * missing values: [nPatches · P] (patch-major). Slot j = (dy · patch + dx) · C + c reads pixel
 * (y0 + dy, x0 + dx), channel c — the row-major order of `ImageFeatureSpace.patchElements`.
 */
export function patchGatherIndex(t: Extract<TokenSpec, { kind: 'patch' }>): Int32Array {
  const { rows, cols } = patchGrid(t);
  const { patch: p, width: W, height: H, channels: C } = t;
  const P = patchTokenSize(t);
  const out = new Int32Array(rows * cols * P).fill(-1);
  for (let f = 0; f < rows * cols; f++) {
    const y0 = Math.floor(f / cols) * p;
    const x0 = (f % cols) * p;
    for (let dy = 0; dy < p; dy++)
      for (let dx = 0; dx < p; dx++) {
        const y = y0 + dy;
        const x = x0 + dx;
        if (y >= H || x >= W) continue;
        for (let c = 0; c < C; c++) out[f * P + (dy * p + dx) * C + c] = (y * W + x) * C + c;
      }
  }
  return out;
}

/** Checks of a config's token spec against its feature count; a UserError naming the problem. */
export function validateTokens(tokens: unknown, nFeatures: number): void {
  const t = tokens as Partial<TokenSpec> & Record<string, unknown>;
  if (!t || typeof t !== 'object' || !(TOKEN_KINDS as readonly string[]).includes(t.kind as string))
    throw new UserError(`Explainer tokens ${JSON.stringify(tokens)} are not known.`, `Use one of the token kinds: ${TOKEN_KINDS.join(', ')}.`);
  if (t.kind === 'token-id') {
    if (!Number.isInteger(t.vocabSize) || (t.vocabSize as number) < 2) throw new UserError(`Explainer token-id tokens: vocabSize = ${JSON.stringify(t.vocabSize)} is not an integer ≥ 2.`, 'Rebuild the explainer from its task.');
    if (!Number.isInteger(t.pad) || (t.pad as number) < 0 || (t.pad as number) >= (t.vocabSize as number)) throw new UserError(`Explainer token-id tokens: pad = ${JSON.stringify(t.pad)} is not a token id (0..${(t.vocabSize as number) - 1}).`, 'Rebuild the explainer from its task.');
  }
  if (t.kind === 'patch') {
    for (const k of ['height', 'width', 'channels', 'patch'] as const)
      if (!Number.isInteger(t[k]) || (t[k] as number) < 1) throw new UserError(`Explainer patch tokens: ${k} = ${JSON.stringify(t[k])} is not a positive integer.`, 'Rebuild the explainer from its task.');
    const { rows, cols } = patchGrid(t as Extract<TokenSpec, { kind: 'patch' }>);
    if (rows * cols !== nFeatures)
      throw new UserError(`Explainer patch tokens: ${t.height}×${t.width} in ${t.patch}-pixel patches are ${rows * cols} patches, but nFeatures is ${nFeatures}.`, 'Rebuild the explainer from its task.');
  }
}
