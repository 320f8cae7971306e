/**
 * The shared kernel of NEG and POS: the curve p_c(x \ prefix_t) along an order, stopped at the
 * first step t* ≥ 1 where the predicted class (argmax, ties → lower index) is no longer c
 * (that point included; t* = T if it never flips); value = trapezoid AUC over t = 0..t* at
 * x = t/t*. A row whose clean prediction is not its target c gives NaN and an empty curve, and
 * costs no model evaluations.
 */
import { trapezoidAuc } from './curves';
import { ordersOf, planCurve, type MetricKernel } from './engine';
import type { StepParams } from './rp';

export function stopCurveKernel(id: 'NEG' | 'POS'): MetricKernel<StepParams, null> {
  const ascending = id === 'NEG';
  return {
    prepareRow: () => null,
    planRow(ctx, s, e, p, _sh, req, owner) {
      if (ctx.predClean !== ctx.c) return () => ({ value: NaN, curve: new Float32Array(0) });
      const orders = ordersOf(ctx, s, e);
      const order = ascending ? orders.asc : orders.desc;
      const read = planCurve(ctx, req, owner, 'removal', order, p.stepSize, `${ascending ? 'asc' : 'desc'}|${e}`);
      return (ev) => {
        const { p: y, pred } = read(ev);
        const T = y.length - 1;
        let tStop = T;
        for (let t = 1; t <= T; t++)
          if (pred[t] !== ctx.c) {
            tStop = t;
            break;
          }
        const curve = Float32Array.from(y.subarray(0, tStop + 1));
        return { value: trapezoidAuc(y, tStop + 1), curve };
      };
    },
  };
}
