// Key maps by name: how a published file's state-dict keys become the model's. The table (`table.ts`) names one per
// entry. torchvision's files use exactly our keys.
import type { KeyMap } from '@cnn/layers';

/** The key maps the weights table refers to, by name. */
export const KEY_MAPS: Readonly<Record<string, KeyMap>> = Object.freeze({
  torchvision: (key: string) => key,
});
