// Loads the public @tensorflow/tfjs-core entry before anything else of tfjs. The Node builds inline tfjs-core's
// gradient and chained-op modules (tf.ts), which carry their own copy of the Tensor class and engine; tfjs keeps
// whichever copy loads first on globalThis. In the CJS build the inlined code would otherwise run first, and every
// tensor would be an instance of that partial copy (no op handler: clone() and bufferSync() would fail).
import '@tensorflow/tfjs-core';
