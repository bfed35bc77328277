// Key maps by name: how a published file's state-dict keys become the model's. The table (`table.ts`) names one per
// entry. torchvision's files use exactly our keys; MMPretrain's nest the model under `backbone.` / `head.` (the maps
// themselves live with the checkpoint loader: `mmpretrainKeys` in @cnn/layers).
import { mmpretrainKeys, type KeyMap } from '@cnn/layers';

/** torchvision's GoogLeNet file: our keys, less the auxiliary classifiers (`aux1.*`, `aux2.*`) that inference drops. */
const torchvisionGoogLeNet: KeyMap = (key) => (key.startsWith('aux1.') || key.startsWith('aux2.') ? null : key);

/** The key maps the weights table refers to, by name. */
export const KEY_MAPS: Readonly<Record<string, KeyMap>> = Object.freeze({
  /** torchvision's own files: the keys are ours. */
  torchvision: (key: string) => key,
  /** torchvision's GoogLeNet: the auxiliary heads dropped. */
  'torchvision-googlenet': torchvisionGoogLeNet,
  /** MMPretrain: `backbone.` dropped, `head.fc.` to `fc.`, everything else (data preprocessor) dropped. */
  mmpretrain: mmpretrainKeys(),
  /** MMPretrain's SE-ResNet: as 'mmpretrain', and `se_layer.convN.conv.` to `se.fcN.`. */
  'mmpretrain-seresnet': mmpretrainKeys({ seLayer: true }),
});
