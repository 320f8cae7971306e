// The CLI bundle's stand-in for '@tensorflow/tfjs-backend-webgpu' (scripts/build-cli.mjs): the
// command line refuses --backend webgpu before this could load, and Node has no WebGPU.
throw new Error('The WebGPU backend is not part of the command-line bundle.');
