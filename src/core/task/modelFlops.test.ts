/**
 * The cost model's counts (task/modelFlops.ts, explainer/cost.ts) against hand counts: a Dense MLP,
 * a small CNN, and the explainer's matrix products against its own weight matrices.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { modelFlops } from './modelFlops';
import { costModel, costSentence, explainerFlops } from '../explainer/cost';

describe('model FLOPs', () => {
  it('Dense 4→8 relu → 3 softmax: 2·4·8 + 8 + 8 + 2·8·3 + 3 + 5·3 = 146', () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })] });
    try {
      expect(modelFlops(m)).toBe(146);
    } finally {
      m.dispose();
    }
  });

  it('conv 3×3 (4 filters, same, relu) on 6×6×1 → maxpool 2 → flatten → dense 2 softmax', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    try {
      const conv = 2 * 36 * 9 * 1 * 4 + 144 + 144; // products, bias, relu over 6·6·4 outputs
      const pool = 36 * 4; // 3·3·4 outputs × 2·2 window
      const dense = 2 * 36 * 2 + 2 + 5 * 2;
      expect(modelFlops(m)).toBe(conv + pool + dense);
    } finally {
      m.dispose();
    }
  });
});

describe('explainer FLOPs and the cost model', () => {
  it('the matrix products are 2 × tokens × the weights of the explainer\'s matrices, plus attention 4·T²·d per layer', () => {
    const s = { tokens: 13, valuesPerToken: 1, dModel: 16, nHeads: 4, nLayers: 2, dFF: 32 };
    const matrixWeights = s.nLayers * (4 * s.dModel * s.dModel + 2 * s.dModel * s.dFF) + s.dModel * 1; // Q,K,V,O, FFN in/out, head
    const embedding = s.valuesPerToken * s.dModel;
    const products = 2 * s.tokens * (matrixWeights + embedding) + s.nLayers * 4 * s.tokens * s.tokens * s.dModel;
    const elementwise = s.tokens * s.dModel + s.nLayers * (16 * s.tokens * s.dModel + 5 * s.tokens * s.tokens * s.nHeads + 10 * s.tokens * s.dFF + 2 * s.tokens * s.dModel) + 8 * s.tokens * s.dModel + 4 * s.tokens;
    expect(explainerFlops(s)).toBe(products + elementwise);
  });

  it('break-even forwards = explainer / target FLOPs; each prior\'s advantage = its forwards ÷ that; a GraphModel is not counted', () => {
    const c = costModel({ tokens: 4, valuesPerToken: 1, dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 }, 146, [{ id: 'kernel-shap', forwardsPerRow: 512 }, { id: 'saliency', forwardsPerRow: 2 }]);
    expect(c.breakEvenForwards).toBe(c.explainerFlops / 146);
    expect(c.priors.map((p) => p.advantage)).toEqual([512 / c.breakEvenForwards!, 2 / c.breakEvenForwards!]);
    expect(costSentence(c)).toContain(`costs as much as ${c.breakEvenForwards!.toFixed(1)} target forwards per row`);
    const g = costModel({ tokens: 4, valuesPerToken: 1, dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 }, null, [{ id: 'saliency', forwardsPerRow: 2 }]);
    expect(g.breakEvenForwards).toBeNull();
    expect(costSentence(g)).toMatch(/not counted \(a GraphModel\)/);
  });
});
