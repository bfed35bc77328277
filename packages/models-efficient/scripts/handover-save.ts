// Writes the weights of the PyTorch hand-over test as this library saves them (saveWeights: safetensors, PyTorch's
// layouts and torchvision's keys) to the file given as the only argument. scripts/make-handover-fixtures.py bundles
// this file with esbuild and runs it with Node (the packages built first), then reads the file with PyTorch.
import { writeFileSync } from 'node:fs';
import { saveWeights, setBackend } from '../src/index';
import { handoverModel } from '../test/handover-weights';

const out = process.argv[2];
if (!out) throw new Error('usage: handover-save <out.safetensors>');
await setBackend('cpu');
const model = handoverModel();
writeFileSync(out, saveWeights(model));
console.log(`wrote ${out}`);
