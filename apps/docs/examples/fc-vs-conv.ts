// A convolution is a linear map, like a fully connected layer, but a very particular one: its matrix is mostly zeros
// (locality) and repeats the same few weights on every row (weight sharing).
import { tf, setBackend } from '@cnn/tensor';
import { F, Conv2d, Linear } from '@cnn/layers';

/** The 3x3 kernel 1..9, so that each weight can be recognised in the matrix. */
export const KERNEL = [
  [1, 2, 3],
  [4, 5, 6],
  [7, 8, 9],
];

/**
 * The matrix of a 3x3 convolution (no padding, stride 1) on a `size` x `size` one-channel image: row r holds the
 * weights that output pixel r gives to each of the size² input pixels. Found by convolving every basis image (one
 * pixel set to 1) at once: the outputs are the matrix's columns.
 */
export function convMatrix(size = 5): number[][] {
  return tf.tidy(() => {
    const n = size * size;
    const basis = tf.reshape(tf.eye(n), [n, size, size, 1]);
    const kernel = tf.tensor4d(KERNEL.flat(), [3, 3, 1, 1]);
    const out = F.conv2d(basis, kernel); // [n, size-2, size-2, 1]: column i of the matrix in batch item i
    return tf.transpose(tf.reshape(out, [n, -1])).arraySync() as number[][];
  });
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const M = convMatrix(5);
  log(`3x3 convolution on a 5x5 image -> 3x3 output, as a ${M.length}x${M[0].length} matrix (· = 0):`);
  for (const row of M) log(`  ${row.map((v) => (v ? String(v) : '·')).join(' ')}`);
  const nonzero = M.flat().filter((v) => v !== 0).length;
  const distinct = new Set(M.flat().filter((v) => v !== 0)).size;
  log(
    `locality: ${nonzero} of ${M.length * M[0].length} entries are not zero; weight sharing: they take ${distinct} distinct values`,
  );

  // The matrix really is the convolution: multiplying by it gives F.conv2d's output.
  const [diff] = tf.tidy(() => {
    const x = tf.randomNormal([1, 5, 5, 1]);
    const viaConv = tf.reshape(F.conv2d(x, tf.tensor4d(KERNEL.flat(), [3, 3, 1, 1])), [9]);
    const viaMatrix = tf.reshape(tf.matMul(tf.tensor2d(M), tf.reshape(x, [25, 1])), [9]);
    return [tf.max(tf.abs(tf.sub(viaConv, viaMatrix))).dataSync()[0]];
  });
  log(`matrix · x equals conv2d(x): ${diff < 1e-4}`);

  // Parameter counts, fully connected against convolution, for the same input and output sizes.
  const cases: Array<[string, [number, number, number], [number, number, number], number]> = [
    ['5x5x1 -> 3x3x1', [5, 5, 1], [3, 3, 1], 3],
    ['8x12x3 -> 8x12x6 (the seed)', [8, 12, 3], [8, 12, 6], 3],
    ['224x224x3 -> 224x224x64', [224, 224, 3], [224, 224, 64], 3],
  ];
  log(`${'parameters'.padEnd(32)} ${'fully connected'.padStart(17)} ${'3x3 convolution'.padStart(17)}`);
  for (const [name, inShape, outShape, k] of cases) {
    const nIn = inShape[0] * inShape[1] * inShape[2];
    const nOut = outShape[0] * outShape[1] * outShape[2];
    let fc = nIn * nOut + nOut;
    if (fc < 1e6) {
      const layer = new Linear(nIn, nOut); // small enough to build: count its real parameters
      fc = layer.numParameters();
      layer.dispose();
    }
    const conv = new Conv2d(inShape[2], outShape[2], k);
    log(
      `  ${name.padEnd(30)} ${fc.toLocaleString('en-US').padStart(17)} ${conv.numParameters().toLocaleString('en-US').padStart(17)}`,
    );
    conv.dispose();
  }
}
