// MMPretrain checkpoints load through the key maps: SE-ResNet's (backbone. prefix, head.fc, se_layer ConvModules) and
// ShuffleNetV1's (whose module names are MMPretrain's already).
import { describe, expect, it } from 'vitest';
import { setBackend, getModel, manualSeed, mmpretrainKeys, seresnetMmpretrainKeys } from '../src/index';
import { torchState, loadTorchState, type HostTensor } from '@cnn/layers';

/** Renames a model's PyTorch-layout state the way MMPretrain's checkpoints name it. */
function asMmpretrain(state: Map<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [k, v] of state) {
    const name = k.startsWith('fc.')
      ? `head.${k}`
      : `backbone.${k.replace(/\.se\.fc([12])\./, '.se_layer.conv$1.conv.')}`;
    out.set(name, v);
  }
  out.set('data_preprocessor.mean', { shape: [3], data: new Float32Array([123.675, 116.28, 103.53]) });
  return out;
}

describe('MMPretrain key maps', () => {
  for (const [id, map] of [
    ['seresnet50', seresnetMmpretrainKeys()],
    ['shufflenet_v1_x1_0_g3', mmpretrainKeys()],
  ] as const) {
    it(`${id}: an MMPretrain-named checkpoint loads strictly and reproduces every tensor`, async () => {
      await setBackend('wasm');
      manualSeed(1);
      const a = getModel(id);
      const ckpt = asMmpretrain(torchState(a));
      if (id === 'seresnet50') expect([...ckpt.keys()]).toContain('backbone.layer1.0.se_layer.conv1.conv.weight');
      manualSeed(2);
      const b = getModel(id);
      const r = loadTorchState(b, ckpt, { keyMap: map });
      expect(r.missing).toEqual([]);
      for (const [k, v] of a.stateDict())
        expect(Array.from(b.stateDict().get(k)!.dataSync()), k).toEqual(Array.from(v.dataSync()));
      a.dispose();
      b.dispose();
    });
  }
});
