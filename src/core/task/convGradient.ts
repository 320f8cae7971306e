/**
 * The filter gradient of a 2-D convolution on the wasm backend. tfjs's wasm backend has no
 * Conv2DBackpropFilter kernel, so training a convolutional model's weights there (F-Fidelity's
 * surrogate fine-tuning, src/core/ffidelity/finetune.ts) would stop with "kernel not registered".
 * `ensureConvFilterGradient()` re-registers Conv2D's gradient so that, on wasm only, the filter
 * part is computed with ops wasm has; every other backend keeps tfjs's own gradient.
 *
 * For NHWC input x [b, H, W, ci], output gradient dy [b, OH, OW, co], strides s (dilation 1, as
 * tfjs's gradient requires) and padding (top, left) on a zero-padded x_p:
 *   dW[kh, kw, ci, co] = Σ_{b, h, w} x_p[b, h·s + kh, w·s + kw, ci] · dy[b, h, w, co]
 * which is a 'valid' convolution of x_pᵀ [ci, Hp, Wp, b] by dyᵀ [OH, OW, b, co] with dilation s,
 * giving [ci, ≥kh, ≥kw, co]; its first kh × kw positions, transposed to [kh, kw, ci, co], are dW.
 * (The same construction as the demo-training script's convolution, for any stride and padding.)
 */
import * as tf from '@tensorflow/tfjs';

let installed = false;

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

/** [top, bottom, left, right] zero padding of a conv2d, as tfjs computes it. */
function padding(pad: Pad, H: number, W: number, kh: number, kw: number, sh: number, sw: number): [number, number, number, number] {
  if (pad === 'valid') return [0, 0, 0, 0];
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (Array.isArray(pad)) return [pad[1][0], pad[1][1], pad[2][0], pad[2][1]];
  const oh = Math.ceil(H / sh);
  const ow = Math.ceil(W / sw);
  const th = Math.max((oh - 1) * sh + kh - H, 0);
  const tw = Math.max((ow - 1) * sw + kw - W, 0);
  return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
}

/** dW of conv2d(x, filter of `filterShape`, strides, pad) for output gradient dy, from ops the wasm backend has. */
export function convFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], strides: number | [number, number], pad: Pad): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filterShape;
    const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
    const [t, b, l, r] = padding(pad, x.shape[1], x.shape[2], kh, kw, sh, sw);
    const xp = t || b || l || r ? tf.pad(x, [[0, 0], [t, b], [l, r], [0, 0]]) : x;
    const xT = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [ci, Hp, Wp, b]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [OH, OW, b, co]
    const full = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [ci, ≥kh, ≥kw, co]
    const cut = full.shape[1] === kh && full.shape[2] === kw ? full : tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(cut, [1, 2, 0, 3]) as tf.Tensor4D; // [kh, kw, ci, co]
  });
}

/** Install the wasm-capable Conv2D gradient once (idempotent). */
export function ensureConvFilterGradient(): void {
  if (installed) return;
  const original = tf.getGradient('Conv2D');
  if (!original) return;
  installed = true;
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: original.inputsToSave,
    gradFunc: (dy, saved, attrs) => {
      const grads = original.gradFunc(dy, saved, attrs) as Record<string, () => tf.Tensor>;
      if (tf.getBackend() !== 'wasm') return grads;
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as { strides: number | [number, number]; pad: Pad; dataFormat?: string };
      if (a.dataFormat && a.dataFormat !== 'NHWC') return grads;
      return { ...grads, filter: () => convFilterGradient(x, dy as tf.Tensor4D, filter.shape as [number, number, number, number], a.strides, a.pad) };
    },
  });
}
