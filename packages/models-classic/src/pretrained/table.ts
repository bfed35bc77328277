// The published ImageNet-1k weights of the zoo, one entry per file (see `types.ts` for the fields).
import type { PretrainedEntry } from './types';

/** Every published weights file the zoo can load, in the order `listPretrained()` shows them. */
export const PRETRAINED_TABLE: readonly PretrainedEntry[] = [];
