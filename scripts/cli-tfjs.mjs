// What `@tensorflow/tfjs` gives the command line, in the CLI bundle only (scripts/build-cli.mjs
// aliases '@tensorflow/tfjs' to this file): the same exports and side effects as the union
// package's index, less what Node never uses (the WebGL backend and tfjs-data). The studio and
// the tests keep importing '@tensorflow/tfjs' itself.
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
export * from '@tensorflow/tfjs-converter';
export * from '@tensorflow/tfjs-backend-cpu';
