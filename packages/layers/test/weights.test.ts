// A small multi-block network saved by PyTorch (.pth, pickle protocols 2 and 4, and safetensors) loads by name
// through the PyTorch importer and gives PyTorch's outputs; saving writes safetensors that load back identically.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  BatchNorm2d,
  Conv2d,
  Linear,
  Module,
  ReLU,
  Sequential,
  saveWeights,
  readSafetensors,
  writeSafetensors,
  mmpretrainKeys,
  manualSeed,
  CheckpointError,
  readCheckpoint,
  readFileBytes,
  READ_FILE_MAX_BYTES,
  loadTorchState,
  torchState,
  checkWeights,
} from '../src/index';
import { relErr } from '../../../test-support/fixtures';

const dir = join(__dirname, 'fixtures', 'checkpoint');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));

/** The fixture script's Net, built from this library's layers with the same child names. */
class Net extends Module {
  stem = this.registerModule('stem', new Conv2d(3, 4, 3, { padding: 1 }));
  blocks = this.registerModule(
    'blocks',
    new Sequential(
      new Sequential(new Conv2d(4, 8, 3, { padding: 1, bias: false }), new BatchNorm2d(8), new ReLU()),
      new Sequential(new Conv2d(8, 8, 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(8), new ReLU()),
    ),
  );
  head = this.registerModule('head', new Linear(8, 5));
  forward(x: Tensor): Tensor {
    return this.head.call(tf.mean(this.blocks.call(this.stem.call(x)), [1, 2]));
  }
}

function input(): Tensor {
  const n = 2 * 8 * 8 * 3;
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)),
    [2, 8, 8, 3],
  );
}

describe.each(['wasm', 'cpu'] as const)('PyTorch checkpoints on %s', (backend) => {
  for (const file of ['net.pth', 'net-p4.pth', 'net.safetensors']) {
    it(`${file} loads by name and gives PyTorch's outputs within 1e-4`, async () => {
      await setBackend(backend);
      const net = new Net();
      const result = await net.loadWeights(join(dir, file));
      expect(result.missing).toEqual([]);
      expect(result.unexpected).toEqual([]);
      net.eval();
      const y = net.call(input());
      expect(relErr(Array.from(y.dataSync()), expected.net_io.output.flat()).rel).toBeLessThan(1e-4);
      expect(net.stateDict().get('blocks.0.1.num_batches_tracked')!.dataSync()[0]).toBe(3);
      y.dispose();
      net.dispose();
    });
  }
});

describe('saving', () => {
  it('saveWeights writes PyTorch-layout safetensors that load back bitwise, and the cnn layout too', async () => {
    await setBackend('wasm');
    manualSeed(5);
    const a = new Net();
    const bytes = saveWeights(a);
    const file = readSafetensors(bytes);
    expect(file.metadata.layout).toBe('torch');
    expect(file.tensors.get('stem.weight')!.shape).toEqual([4, 3, 3, 3]); // OIHW, as PyTorch expects
    expect(file.tensors.get('head.weight')!.shape).toEqual([5, 8]);
    expect(file.tensors.get('blocks.0.1.num_batches_tracked')!.dtype).toBe('int64');
    for (const to of ['torch', 'cnn'] as const) {
      manualSeed(6);
      const b = new Net();
      await b.loadWeights(saveWeights(a, { to }));
      for (const [k, v] of a.stateDict())
        expect(Array.from(b.stateDict().get(k)!.dataSync()), `${to} ${k}`).toEqual(Array.from(v.dataSync()));
      b.dispose();
    }
    a.dispose();
  });

  it('reports every missing, unexpected and mis-shaped key by name', async () => {
    await setBackend('wasm');
    class Other extends Module {
      stem = this.registerModule('stem', new Conv2d(3, 6, 3));
      extra = this.registerModule('extra', new Linear(2, 2));
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new Other();
    const err = await m.loadWeights(join(dir, 'net.pth')).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/stem\.weight: checkpoint \[3, 3, 3, 4\], model \[3, 3, 3, 6\]/);
    expect(msg).toMatch(/missing keys \(2\): extra\.weight, extra\.bias/);
    expect(msg).toMatch(/unexpected keys \(\d+\): blocks\.0\.0\.weight/);
    m.dispose();
  });

  it('an MMPretrain checkpoint loads through the key map; a hostile pickle is refused and loads nothing', async () => {
    await setBackend('wasm');
    class StemHead extends Module {
      stem = this.registerModule('stem', new Conv2d(3, 4, 3, { padding: 1 }));
      head = this.registerModule('head', new Linear(8, 5));
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new StemHead();
    const before = Array.from(m.stem.weight.dataSync());
    // mmpretrain.pth holds stem.* and head.* of the net under a 'state_dict' entry.
    const r = await m.loadWeights(join(dir, 'mmpretrain.pth'), { keyMap: (k) => k });
    expect(r.loaded.sort()).toEqual(['head.bias', 'head.weight', 'stem.bias', 'stem.weight']);
    expect(Array.from(m.stem.weight.dataSync())).not.toEqual(before);
    expect(mmpretrainKeys()('backbone.layer1.0.conv1.weight')).toBe('layer1.0.conv1.weight');
    expect(mmpretrainKeys()('head.fc.weight')).toBe('fc.weight');
    expect(mmpretrainKeys()('data_preprocessor.mean')).toBeNull();
    expect(mmpretrainKeys('classifier.')('head.fc.bias')).toBe('classifier.bias');
    expect(mmpretrainKeys({ head: 'classifier.' })('head.fc.bias')).toBe('classifier.bias');
    const se = mmpretrainKeys({ seLayer: true });
    expect(se('backbone.layer1.0.se_layer.conv2.conv.weight')).toBe('layer1.0.se.fc2.weight');
    expect(se('backbone.layer1.0.conv1.weight')).toBe('layer1.0.conv1.weight');
    expect(mmpretrainKeys()('backbone.layer1.0.se_layer.conv2.conv.weight')).toBe(
      'layer1.0.se_layer.conv2.conv.weight',
    );
    const kept = Array.from(m.stem.weight.dataSync());
    await expect(m.loadWeights(join(dir, 'malicious.pth'))).rejects.toThrow(CheckpointError);
    await expect(m.loadWeights(join(dir, 'malicious.pth'))).rejects.toThrow(/refusing global 'os/);
    expect(Array.from(m.stem.weight.dataSync())).toEqual(kept);
    m.dispose();
  });
});

/** Awaits `run`, which must reject with a CheckpointError matching `pattern` within 20 s; logs how long it took. */
async function refusedWithin(name: string, run: () => Promise<unknown>, pattern: RegExp): Promise<CheckpointError> {
  const t0 = performance.now();
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  console.log(`hostile case '${name}': ${ms.toFixed(0)} ms`);
  expect(err, name).toBeInstanceOf(CheckpointError);
  expect((err as CheckpointError).message, name).toMatch(pattern);
  expect(ms, name).toBeLessThan(20_000);
  return err as CheckpointError;
}

/** Every value of the model's state, by key (to show that a refused load changed nothing). */
const snapshot = (m: Module) => new Map([...m.stateDict()].map(([k, v]) => [k, Array.from(v.dataSync())]));

describe('a failed load changes nothing', () => {
  it('only regular files are read: /dev/zero, a FIFO and a directory are refused by name, before they are opened', async () => {
    await setBackend('wasm');
    const tmp = mkdtempSync(join(tmpdir(), 'cnn-layers-'));
    try {
      const fifo = join(tmp, 'weights.pth');
      execFileSync('mkfifo', [fifo]); // nothing ever writes to it: opening it for reading would wait forever
      const net = new Net();
      const before = snapshot(net);
      const e1 = await refusedWithin(
        'loadWeights /dev/zero',
        () => net.loadWeights('/dev/zero'),
        /^cannot read '\/dev\/zero': it is a character device, and only regular files are read as checkpoints$/,
      );
      expect(e1.file).toBe('/dev/zero');
      await refusedWithin('readCheckpoint /dev/zero', () => readCheckpoint('/dev/zero'), /it is a character device/);
      const e2 = await refusedWithin(
        'loadWeights FIFO',
        () => net.loadWeights(fifo),
        /cannot read '.*weights\.pth': it is a FIFO \(named pipe\), and only regular files are read/,
      );
      expect(e2.file).toBe(fifo);
      await refusedWithin('readFileBytes FIFO', () => readFileBytes(fifo), /FIFO/);
      await refusedWithin(
        'loadWeights directory',
        () => net.loadWeights(tmp),
        /it is a directory, and only regular files are read/,
      );
      await refusedWithin(
        'loadWeights missing file',
        () => net.loadWeights(join(tmp, 'none.pth')),
        /cannot read '.*none\.pth' \(ENOENT\)/,
      );
      expect(snapshot(net)).toEqual(before);
      // A regular file reads as before.
      const file = join(tmp, 'net.safetensors');
      writeFileSync(file, saveWeights(net));
      expect((await net.loadWeights(file)).missing).toEqual([]);
      expect(READ_FILE_MAX_BYTES).toBe(2 ** 31 - 1);
      net.dispose();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('loadStateDict validates every value first: a short last tensor is named, nothing changes, no tensor leaks', async () => {
    await setBackend('wasm');
    manualSeed(11);
    const net = new Net();
    const before = snapshot(net);
    const host = new Map(
      [...net.stateDict()].map(([k, v]) => [k, { shape: v.shape.slice(), data: new Float32Array(v.size).fill(0.5) }]),
    );
    const keys = [...host.keys()];
    const last = keys[keys.length - 1]; // head.bias, [5]
    expect(last).toBe('head.bias');
    host.set(last, { shape: [5], data: new Float32Array(4) });
    const tensors = tf.memory().numTensors;
    let err: unknown;
    try {
      net.loadStateDict(host);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).message).toBe(
      'Net.loadStateDict: invalid values (1): head.bias has shape [5] (5 values) but its data holds 4',
    );
    expect((err as CheckpointError).key).toBe('head.bias');
    expect(snapshot(net), 'nothing assigned').toEqual(before);
    expect(tf.memory().numTensors).toBe(tensors);

    // Other malformed values are named the same way, all of them in one error, and still nothing changes.
    const gone = tf.zeros([4]);
    gone.dispose();
    const strings = tf.tensor(['a', 'b', 'c', 'd']);
    const bad = new Map<string, unknown>(host);
    bad.set(last, { shape: [5], data: new Float32Array(5) });
    bad.set('stem.bias', gone);
    bad.set('blocks.0.1.weight', strings);
    bad.set('blocks.0.1.bias', { shape: [8], data: 'not numbers' });
    bad.set('blocks.0.1.running_mean', { shape: [-8], data: new Float32Array(8) });
    bad.set('blocks.0.1.running_var', { shape: [8], data: new BigInt64Array(8) });
    bad.set('blocks.1.1.weight', undefined);
    const e2 = (() => {
      try {
        net.loadStateDict(bad as Map<string, Tensor>);
      } catch (e) {
        return e as CheckpointError;
      }
    })();
    expect(e2).toBeInstanceOf(CheckpointError);
    expect(e2!.message).toMatch(
      /^Net\.loadStateDict: invalid values \(6\): stem\.bias is a disposed tensor; blocks\.0\.1\.weight is a string tensor \(float32, int32 and bool load\); blocks\.0\.1\.bias has data "not numbers", not a Float32Array/,
    );
    expect(e2!.message).toMatch(
      /blocks\.0\.1\.running_mean has an invalid shape \[-8\] \(want an array of non-negative integers\); blocks\.0\.1\.running_var has data BigInt64Array\(8\)/,
    );
    expect(e2!.message).toMatch(/blocks\.1\.1\.weight is undefined, not a tensor/);
    expect(e2!.key).toBe('stem.bias');
    expect(snapshot(net)).toEqual(before);
    strings.dispose();
    expect(tf.memory().numTensors).toBe(tensors);

    // The valid dict loads, from host values and from tensors (cast to int32 where the variable is), and frees what it made.
    host.set(last, { shape: [5], data: new Float32Array(5).fill(0.5) });
    net.loadStateDict(host);
    expect(tf.memory().numTensors).toBe(tensors);
    for (const [k, v] of snapshot(net))
      expect(new Set(v), k).toEqual(new Set([k.endsWith('num_batches_tracked') ? 0 : 0.5]));
    const asTensors = new Map(
      [...host].map(([k, t]) => [
        k,
        tf.tensor(
          t.data.map(() => 2),
          t.shape,
        ),
      ]),
    );
    net.loadStateDict(asTensors);
    for (const t of asTensors.values()) t.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(net.stateDict().get('blocks.0.1.num_batches_tracked')!.dtype).toBe('int32');
    for (const [k, v] of snapshot(net)) expect(new Set(v), k).toEqual(new Set([2]));
    net.dispose();
  });

  it('loadTorchState and loadWeights: a malformed or mis-shaped tensor anywhere leaves the model as it was', async () => {
    await setBackend('wasm');
    manualSeed(12);
    const net = new Net();
    const before = snapshot(net);
    const tensors = tf.memory().numTensors;
    // PyTorch layouts, the conv weight of the last block one value short: named before any layout conversion.
    const torch = torchState(net);
    const w = torch.get('blocks.1.0.weight')!;
    torch.set('blocks.1.0.weight', { shape: w.shape, data: w.data.subarray(1) });
    expect(() => loadTorchState(net, torch)).toThrow(CheckpointError);
    expect(() => loadTorchState(net, torch)).toThrow(
      /blocks\.1\.0\.weight has shape \[8, 8, 3, 3\] \(576 values\) but its data holds 575/,
    );
    // A tensor of another rank is reported with the file's shape, not converted.
    torch.set('blocks.1.0.weight', { shape: [8, 72], data: w.data });
    expect(() => loadTorchState(net, torch)).toThrow(
      /blocks\.1\.0\.weight: checkpoint \[8, 72\], model \[3, 3, 8, 8\]/,
    );
    expect(snapshot(net)).toEqual(before);
    // From a file (safetensors written by saveWeights), the last tensor mis-shaped.
    const file = readSafetensors(saveWeights(net));
    file.tensors.set('head.bias', { dtype: 'float32', shape: [6], data: new Float32Array(6) });
    const err = await net.loadWeights(writeSafetensors(file.tensors, file.metadata)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).message).toMatch(
      /^Net\.loadStateDict: shape mismatch \(1\): head\.bias: checkpoint \[6\], model \[5\]$/,
    );
    expect((err as CheckpointError).key).toBe('head.bias');
    expect(snapshot(net)).toEqual(before);
    expect(tf.memory().numTensors).toBe(tensors);
    net.dispose();
  });

  it('checkStateDict and checkWeights check exactly as the loads do and change nothing; the checked state then loads', async () => {
    await setBackend('wasm');
    manualSeed(13);
    const source = new Net();
    const bytes = saveWeights(source);
    manualSeed(14);
    const net = new Net();
    const before = snapshot(net);
    const tensors = tf.memory().numTensors;
    // A mis-shaped last tensor: the same error as loadStateDict's, under the check's name.
    const file = readSafetensors(bytes);
    file.tensors.set('head.bias', { dtype: 'float32', shape: [6], data: new Float32Array(6) });
    const bad = writeSafetensors(file.tensors, file.metadata);
    const err = await checkWeights(net, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).message).toBe(
      'Net.checkStateDict: shape mismatch (1): head.bias: checkpoint [6], model [5]',
    );
    expect(() =>
      net.checkStateDict(new Map([['head.bias', { shape: [5], data: new Float32Array(4) }]]), { strict: false }),
    ).toThrow(
      /^Net\.checkStateDict: invalid values \(1\): head\.bias has shape \[5\] \(5 values\) but its data holds 4$/,
    );
    // A valid file is checked without a change, and what the check returns loads it.
    const checked = await checkWeights(net, bytes);
    expect(checked.missing).toEqual([]);
    expect(checked.unexpected).toEqual([]);
    expect(checked.loaded).toEqual([...net.stateDict().keys()]);
    expect(snapshot(net)).toEqual(before);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(net.loadStateDict(checked.state).loaded).toEqual(checked.loaded);
    expect(snapshot(net)).toEqual(snapshot(source));
    expect(tf.memory().numTensors).toBe(tensors);
    source.dispose();
    net.dispose();
  });

  it('messages list at most 50 keys of each kind, each at most 120 characters', async () => {
    await setBackend('wasm');
    const net = new Net();
    const dict = new Map<string, { shape: number[]; data: Float32Array }>();
    for (let i = 0; i < 10_000; i++)
      dict.set(`module.${'x'.repeat(i < 3 ? 100_000 : 10)}.${i}`, { shape: [1], data: new Float32Array(1) });
    const err = (() => {
      try {
        net.loadStateDict(dict);
      } catch (e) {
        return e as CheckpointError;
      }
    })();
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err!.message).toMatch(/unexpected keys \(10000\): module\.x{110}\.\.\., /);
    expect(err!.message).toMatch(/, \.\.\. \(9950 more\)$/);
    expect(err!.message).toMatch(/missing keys \(16\): stem\.weight, stem\.bias, .*, head\.bias\n/);
    expect(err!.message.length).toBeLessThan(5000);
    net.dispose();
  });
});
