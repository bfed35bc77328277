// tsup's declaration bundler drops side-effect imports, and with them tfjs's declarations of the chained
// ops (`x.reshape(...)`, `x.square()`), which @cnn/tensor registers at run time. Put the import back.
import { readFileSync, writeFileSync } from 'node:fs';

const line = "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';\n";
for (const file of ['dist/index.d.ts', 'dist/index.d.cts']) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue;
  }
  if (!text.startsWith(line)) writeFileSync(file, line + text);
}
