// Errors of the layers package outside checkpoint reading (which has CheckpointError in checkpoint/errors.ts).

/**
 * A call that needs what `fuse({ inPlace: true })` folded away: training, reading or writing the state dict
 * (`stateDict`, `saveWeights`, `loadWeights`, `loadStateDict`), the parameter list an optimizer takes, replacing a
 * layer, or `unfuse`. A model fused in place holds only its folded inference weights: build a fresh model to train
 * or save it.
 */
export class FusedInPlaceError extends Error {
  /** Always `'FusedInPlaceError'`, so that the error can be told apart by name. */
  override name = 'FusedInPlaceError';
}
