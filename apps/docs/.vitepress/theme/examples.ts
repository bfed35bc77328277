/**
 * The runnable examples, found by file name: the same files under `examples/` that the pages show
 * with `<<< @/examples/<id>.ts` and that test/examples.test.ts runs in Node. Each is its own
 * lazily loaded chunk.
 */
export interface ExampleModule {
  run(log: (line: string) => void): Promise<void>;
}

const modules = import.meta.glob('../../examples/*.ts');

/** Every example id (file name without `.ts`). */
export const exampleIds = Object.keys(modules).map((k) => k.replace(/^.*\/(.+)\.ts$/, '$1'));

/** Loads `examples/<id>.ts`. */
export async function loadExample<T = ExampleModule>(id: string): Promise<T> {
  const load = modules[`../../examples/${id}.ts`];
  if (!load) throw new Error(`no example '${id}': expected a file examples/${id}.ts (have ${exampleIds.join(', ')})`);
  return (await load()) as T;
}
