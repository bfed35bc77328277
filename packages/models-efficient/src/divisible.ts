/**
 * Rounds `v` to a multiple of `divisor`, never below `minValue` (default: the divisor) nor below 90 % of `v`: the
 * rule torchvision and MMPretrain use to scale channel counts by a width multiplier.
 */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let out = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}
