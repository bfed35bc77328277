// Loading PyTorch weights: a checkpoint in PyTorch's layout and names, written by saveWeights (the same bytes a
// `safetensors.torch.save_file(model.state_dict())` would give), read back, loaded by name, and renamed the way
// MMPretrain names its keys.
import { setBackend, manualSeed, getModel, mmpretrainKeys, tf } from '@cnn/models-efficient';
import { readCheckpoint, writeSafetensors, type RawTensor } from '@cnn/layers';

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 7);

  manualSeed(1);
  const source = getModel('resnet20_cifar');
  const bytes = source.saveWeights(); // safetensors, PyTorch's layouts (OIHW convolutions, [out, in] linear)

  // What is in the file: PyTorch's keys and shapes.
  const ckpt = await readCheckpoint(bytes);
  const conv1 = ckpt.tensors.get('conv1.weight')!;
  log(`${ckpt.format}: ${ckpt.tensors.size} tensors, ${(bytes.byteLength / 1024).toFixed(0)} KiB`);
  log(
    `conv1.weight in the file [${conv1.shape.join(', ')}] (OIHW), in the model [${source.stateDict().get('conv1.weight')!.shape.join(', ')}] (HWIO)`,
  );

  // Load by name into a model with other random weights: the outputs become identical.
  manualSeed(2);
  const target = getModel('resnet20_cifar');
  const before = tf.tidy(() => tf.max(tf.abs(tf.sub(source.call(x), target.call(x)))).dataSync()[0]);
  const result = await target.loadWeights(bytes);
  const after = tf.tidy(() => tf.max(tf.abs(tf.sub(source.call(x), target.call(x)))).dataSync()[0]);
  log(
    `loaded ${result.loaded.length} tensors, missing ${result.missing.length}, unexpected ${result.unexpected.length}`,
  );
  log(`max |difference| of the logits: before ${before > 0 ? '> 0' : '0'}, after ${after}`);

  // MMPretrain's names: 'backbone.' before the backbone, 'head.fc.' for the classifier. mmpretrainKeys() maps them back.
  const renamed = new Map<string, RawTensor>();
  for (const [key, t] of ckpt.tensors) renamed.set(key.startsWith('fc.') ? `head.${key}` : `backbone.${key}`, t);
  const mmBytes = writeSafetensors(renamed, { format: 'pt' });
  manualSeed(3);
  const mm = getModel('resnet20_cifar');
  const mmResult = await mm.loadWeights(mmBytes, { keyMap: mmpretrainKeys() });
  log(`MMPretrain names (${[...renamed.keys()][0]}, ..., head.fc.bias): loaded ${mmResult.loaded.length} tensors`);

  // A checkpoint that does not fit is refused, naming the key.
  const fiveClasses = getModel('resnet20_cifar', { numClasses: 5 });
  try {
    await fiveClasses.loadWeights(bytes);
    log('loaded into a 5-class model (unexpected)');
  } catch (err) {
    log(`5-class model: ${(err as Error).message.split('\n')[0]}`);
  }

  tf.dispose(x);
  for (const m of [source, target, mm, fiveClasses]) m.dispose();
}
