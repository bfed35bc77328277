// A small multi-block network saved by PyTorch (.pth, pickle protocols 2 and 4, and safetensors) loads by name
// through the PyTorch importer and gives PyTorch's outputs; saving writes safetensors that load back identically.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import { BatchNorm2d, Conv2d, Linear, Module, ReLU, Sequential, saveWeights, readSafetensors, mmpretrainKeys, manualSeed, CheckpointError } from '../src/index';

const dir = join(__dirname, 'fixtures', 'checkpoint');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));

/** The fixture script's Net, built from this library's layers with the same child names. */
class Net extends Module {
  stem = this.registerModule('stem', new Conv2d(3, 4, 3, { padding: 1 }));
  blocks = this.registerModule('blocks', new Sequential(
    new Sequential(new Conv2d(4, 8, 3, { padding: 1, bias: false }), new BatchNorm2d(8), new ReLU()),
    new Sequential(new Conv2d(8, 8, 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(8), new ReLU()),
  ));
  head = this.registerModule('head', new Linear(8, 5));
  forward(x: Tensor): Tensor {
    return this.head.call(tf.mean(this.blocks.call(this.stem.call(x)), [1, 2]));
  }
}

function input(): Tensor {
  const n = 2 * 8 * 8 * 3;
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)), [2, 8, 8, 3]);
}

function relError(a: number[], b: number[]): number {
  let m = 0;
  let mb = 0;
  a.forEach((v, i) => {
    m = Math.max(m, Math.abs(v - b[i]));
    mb = Math.max(mb, Math.abs(b[i]));
  });
  return m / mb;
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
      expect(relError(Array.from(y.dataSync()), expected.net_io.output.flat())).toBeLessThan(1e-4);
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
      for (const [k, v] of a.stateDict()) expect(Array.from(b.stateDict().get(k)!.dataSync()), `${to} ${k}`).toEqual(Array.from(v.dataSync()));
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
    const kept = Array.from(m.stem.weight.dataSync());
    await expect(m.loadWeights(join(dir, 'malicious.pth'))).rejects.toThrow(CheckpointError);
    await expect(m.loadWeights(join(dir, 'malicious.pth'))).rejects.toThrow(/refusing global 'os/);
    expect(Array.from(m.stem.weight.dataSync())).toEqual(kept);
    m.dispose();
  });
});

