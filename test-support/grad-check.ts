// Gradients against central finite differences, shared by @cnn/layers' tests and the model families' block tests:
// the directional derivative of L = sum(f(x) * r) along a random direction v, by autodiff (tf.grads) and by central
// differences, for every input (and, for a module, every trainable parameter). Deterministic data: the formula of
// ./fixtures.ts.
import { expect } from 'vitest';
import { tf, type Tensor } from '@cnn/tensor';
import type { ModuleLike } from './layer-fixtures';
import { formula, size } from './fixtures';

/** Values in [-0.5, 0.5) * scale + offset, from the fixture formula. */
export const rnd = (shape: number[], seed: number, scale = 1, offset = 0): Tensor =>
  tf.tensor(
    formula(size(shape), seed).map((v) => v * scale + offset),
    shape,
  );

/** Step of the central differences. */
export const EPS = 1e-2;
/** Largest relative difference accepted between autodiff and finite differences. */
export const GRAD_TOL = 1e-2;

/** sum(f * r) in float64 from the float32 output. */
export function lossValue(y: Tensor, r: Float32Array): number {
  const d = y.dataSync();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * r[i];
  return s;
}

/** sum |f * r|: the scale of float32 rounding in L. */
export function lossScale(y: Tensor, r: Float32Array): number {
  const d = y.dataSync();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += Math.abs(d[i] * r[i]);
  return s;
}

/**
 * ad: <grad, v> by autodiff; fd: the central difference; scale: sum |grad * v| (below which a directional derivative
 * is cancellation); noise: what float32 rounding of the outputs (~1e-6 relative after a few layers) can move fd by.
 */
export interface DirCheck {
  what: string;
  ad: number;
  fd: number;
  scale: number;
  noise: number;
}

/** Expects autodiff and the central difference of each check to agree within {@link GRAD_TOL} (soft expectations). */
export function expectDirs(name: string, checks: DirCheck[]): void {
  for (const c of checks) {
    const rel = Math.abs(c.ad - c.fd) / Math.max(Math.abs(c.ad), Math.abs(c.fd), 1e-3 * c.scale, c.noise);
    expect
      .soft(
        rel,
        `${name}: d/d${c.what}: autodiff ${c.ad}, finite differences ${c.fd} (noise floor ${c.noise.toExponential(2)})`,
      )
      .toBeLessThanOrEqual(GRAD_TOL);
  }
}

/** Directional derivative of L = sum(f(xs) * r) along a random v per input: tf.grads against central differences. */
export function checkFunctionGrads(name: string, f: (...xs: Tensor[]) => Tensor, xs: Tensor[], seed = 1): void {
  const before = tf.memory().numTensors;
  const y0 = tf.tidy(() => f(...xs));
  const r = formula(y0.size, seed + 100);
  const rT = tf.tensor(r, y0.shape);
  const noise = (1e-6 * lossScale(y0, r)) / EPS;
  y0.dispose();
  const grads = tf.grads((...ins: Tensor[]) => tf.sum(tf.mul(f(...ins), rT)))(xs);
  const checks: DirCheck[] = xs.map((x, i) => {
    const v = formula(x.size, seed + 200 + i);
    const g = grads[i].dataSync();
    let ad = 0,
      scale = 0;
    for (let j = 0; j < v.length; j++) {
      ad += g[j] * v[j];
      scale += Math.abs(g[j] * v[j]);
    }
    const at = (sign: number) =>
      tf.tidy(() => {
        const moved = xs.map((t, k) => (k === i ? tf.add(t, tf.mul(tf.tensor(v, t.shape), sign * EPS)) : t));
        const y = f(...moved);
        return lossValue(y, r);
      });
    return { what: `input ${i}`, ad, fd: (at(1) - at(-1)) / (2 * EPS), scale, noise };
  });
  tf.dispose([rT, ...grads]);
  expectDirs(name, checks);
  expect(tf.memory().numTensors, `${name}: tensors left by the gradient`).toBe(before);
}

/** The same for a module: the input and every trainable parameter. */
export function checkModuleGrads(name: string, m: ModuleLike, x: Tensor, seed = 1): void {
  const xv = tf.variable(x, true);
  const params = [xv, ...m.parameters()];
  const y0 = m.call(xv);
  const r = formula(y0.size, seed + 100);
  const rT = tf.tensor(r, y0.shape);
  const noise = (1e-6 * lossScale(y0, r)) / EPS;
  y0.dispose();
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.call(xv), rT)) as tf.Scalar, params);
  value.dispose();
  const names = ['x', ...m.namedParameters().map(([n]) => n)];
  const checks: DirCheck[] = params.map((p, i) => {
    const v = formula(p.size, seed + 200 + i);
    const g = grads[p.name].dataSync();
    let ad = 0,
      scale = 0;
    for (let j = 0; j < v.length; j++) {
      ad += g[j] * v[j];
      scale += Math.abs(g[j] * v[j]);
    }
    const orig = p.clone();
    const at = (sign: number) => {
      tf.tidy(() => p.assign(tf.add(orig, tf.mul(tf.tensor(v, p.shape), sign * EPS))));
      return tf.tidy(() => lossValue(m.call(xv), r));
    };
    const fd = (at(1) - at(-1)) / (2 * EPS);
    p.assign(orig);
    orig.dispose();
    return { what: names[i], ad, fd, scale, noise };
  });
  tf.dispose([rT, xv, ...Object.values(grads)]);
  expectDirs(name, checks);
}
