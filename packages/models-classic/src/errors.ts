// The errors of the model zoo: bad builder options and bad inputs to predict, each raised before anything is built
// or run, with the model and the option (or the input position) named.

/** Base class of the zoo's errors ({@link ModelOptionsError}, {@link ModelInputError}). */
export class ModelError extends Error {
  /** Creates the error; `options.cause` is the error it reports, if any. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelError';
  }
}

/**
 * A builder (`getModel`, `resnet50(...)`, `new ResNet(...)`) was given options it does not take: an unknown name, a
 * value of the wrong type, or one outside its limits. Thrown before any layer is built.
 */
export class ModelOptionsError extends ModelError {
  /** The model (registry id, or class) whose options were refused. */
  readonly model: string;
  /** The option at fault, when one is. */
  readonly option?: string;

  /** Creates the error: the message is prefixed with `model`. */
  constructor(model: string, message: string, option?: string) {
    super(`${model}: ${message}`);
    this.name = 'ModelOptionsError';
    this.model = model;
    if (option !== undefined) this.option = option;
  }
}

/** An input to `predict` that it cannot classify: not an NHWC float tensor, or holding NaN / Infinity. */
export class ModelInputError extends ModelError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = 'ModelInputError';
  }
}

/** The input to `predict` holds NaN or +-Infinity: `count` of them, the first at `index` ([n, h, w, c]). */
export class NonFiniteInputError extends ModelInputError {
  /** How many values are NaN or infinite. */
  readonly count: number;
  /** Position of the first one, one coordinate per dimension. */
  readonly index: number[];
  /** Its value: NaN, Infinity or -Infinity. */
  readonly value: number;

  /** Creates the error with what was found. */
  constructor(message: string, count: number, index: number[], value: number) {
    super(message);
    this.name = 'NonFiniteInputError';
    this.count = count;
    this.index = index;
    this.value = value;
  }
}

/** What went wrong in {@link PretrainedError}: each case has its own advice in the message. */
export type PretrainedErrorKind =
  | 'unknown-weights'
  | 'options'
  | 'offline'
  | 'http'
  | 'truncated'
  | 'too-large'
  | 'hash-mismatch'
  | 'file'
  | 'insecure-context'
  | 'aborted'
  | 'checkpoint';

/**
 * Pretrained weights could not be found, downloaded, verified or read (`loadPretrained`): an id or weights name with
 * no entry, no network, an HTTP error, a download cut short, a file whose SHA-256 does not match the published one,
 * a page without SubtleCrypto. The message names the URL and the cache path, and says what to do. Nothing is left in
 * the cache when this is thrown.
 */
export class PretrainedError extends ModelError {
  /** Which failure this is. */
  readonly kind: PretrainedErrorKind;
  /** The URL the weights come from, when there is one. */
  readonly url?: string;
  /** Where the weights are (or would be) cached or read from, when there is such a place. */
  readonly path?: string;

  /** Creates the error. */
  constructor(
    kind: PretrainedErrorKind,
    message: string,
    where: { url?: string; path?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PretrainedError';
    this.kind = kind;
    if (where.url !== undefined) this.url = where.url;
    if (where.path !== undefined) this.path = where.path;
  }
}
