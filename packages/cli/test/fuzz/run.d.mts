// Types of run.mjs, for fuzz.test.ts.

/** A case of the corpus: a mutant, a seed or one of the files. */
export interface FuzzCase {
  id: string;
  format: string;
  seed: string;
  desc: string;
  target: string;
  expect: 'any' | 'named' | 'ok';
  files: Record<string, unknown>;
  channels?: 1 | 3;
}

/** What the child reported for a case (or what the parent saw happen to it). */
export interface FuzzResult {
  id: string;
  outcome: 'ok' | 'named' | 'raw' | 'wrapped' | 'oom' | 'hang' | 'crash';
  detail?: string;
  cls?: string;
  msg?: string;
  msgLength?: number;
  reason?: string;
  ms?: number;
  maxRssMB?: number;
  changed?: boolean;
  leaked?: number;
}

/** A case that failed, with the command that reproduces it. */
export interface FuzzFailure {
  id: string;
  format: string;
  target: string;
  desc: string;
  kind: string;
  reason: string;
  repro: string;
}

export interface FuzzOptions {
  count?: number;
  only?: string[];
  timeoutMs?: number;
  budgetMB?: number;
  batch?: number;
  deadlineMs?: number;
  keep?: boolean;
  /** Hangs, crashes and the calibration, as they happen. */
  log?: (line: string) => void;
  /** A line after each batch. */
  progress?: (line: string) => void;
}

export interface FuzzReport {
  cases: FuzzCase[];
  results: Map<string, FuzzResult>;
  seedResults: Map<string, FuzzResult>;
  failures: FuzzFailure[];
  capMB: number;
  vmpeakMB: number;
  seconds: number;
  table: string;
  dir?: string;
}

export const OUTCOMES: readonly string[];
/** The formats mutated, in report order. */
export const FORMATS: readonly string[];
export function defaults(
  env?: Record<string, string | undefined>,
): Required<Pick<FuzzOptions, 'count' | 'timeoutMs' | 'budgetMB' | 'batch' | 'deadlineMs'>>;
export function runFuzz(opts?: FuzzOptions): Promise<FuzzReport>;
export function formatFailures(failures: FuzzFailure[]): string;
