// Turns the last checkpoint of a finished `cnn train` run (the final weights, not the epoch that scored best on the
// test split, so the accuracy quoted is not a selection on test data) into a shipped weights file: weights/<id>-<dataset>.safetensors
// (the model's state dict alone, PyTorch layout, with the run's `cnn.model` description and its command line in the
// header), and prints the card's `weights` entry to put in the model's card, in its family file (src/lenet.ts, src/resnet.ts, ...).
//
//   node packages/models-classic/scripts/ship-weights.mjs <run folder>
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setBackend } from '@cnn/tensor';
import { loadWeights, readSafetensors, saveWeights } from '@cnn/layers';
import { getModel, getCard } from '@cnn/models-classic';

const run = process.argv[2];
if (!run) {
  console.error('usage: node packages/models-classic/scripts/ship-weights.mjs <run folder>');
  process.exit(2);
}
await setBackend('cpu');
const bytes = readFileSync(join(run, 'last.safetensors'));
const { metadata } = readSafetensors(bytes);
const info = JSON.parse(metadata['cnn.model']);
const training = JSON.parse(metadata['cnn.training']);
const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
const model = getModel(info.id, {
  numClasses: info.numClasses,
  inChannels: info.inputSize[2],
  ...(getCard(info.id).family === 'lenet' ? { inputSize: info.inputSize[0] } : {}),
});
await loadWeights(model, bytes);
const top1 = training.extra.record.valTop1;
if (training.epoch !== JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).epochs)
  throw new Error(`${run} has not finished (epoch ${training.epoch})`);
const command = `cnn train --model ${cfg.model} --dataset ${cfg.dataset} --epochs ${cfg.epochs} --batch-size ${cfg.batchSize} --optimizer ${cfg.optimizer} --lr ${cfg.lr} --weight-decay ${cfg.weightDecay} --schedule ${cfg.schedule} --seed ${cfg.seed}${cfg.augment ? ' --augment' : ''}`;
const file = `${info.id}-${info.dataset}.safetensors`;
const out = saveWeights(model, {
  metadata: {
    'cnn.model': metadata['cnn.model'],
    'cnn.trained_with': command,
    'cnn.top1': String(top1),
    'cnn.epoch': String(training.epoch),
  },
});
writeFileSync(new URL(`../weights/${file}`, import.meta.url), out);
const entry = {
  file,
  dataset: info.dataset,
  inputSize: info.inputSize,
  numClasses: info.numClasses,
  top1,
  classes: info.classes,
  mean: info.mean,
  std: info.std,
  trainedWith: command,
};
console.log(`wrote weights/${file} (${out.length} bytes), epoch ${training.epoch}`);
console.log(JSON.stringify(entry));
