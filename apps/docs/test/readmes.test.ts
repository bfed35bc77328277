/**
 * What a new user reads first: the root README opens with the use of the packages (install, classify a picture with
 * pretrained weights, train on a folder) before the repository's Quick start, whose two command lines stay exactly as
 * .ci/run and contributors know them; the models-efficient README classifies a real picture; and every
 * `import { ... } from '@cnn/<package>'` in a README or a guide page (English and Chinese) names something that
 * package really exports (its built entry point, or a type of its `dist/index.d.ts`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The `## ` sections of a Markdown file, by heading, in order (fenced code is not searched for headings). */
function sections(text: string): Array<{ heading: string; body: string }> {
  const out: Array<{ heading: string; body: string }> = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (!fenced && line.startsWith('## ')) out.push({ heading: line.slice(3).trim(), body: '' });
    else if (out.length > 0) out[out.length - 1].body += `${line}\n`;
  }
  return out;
}

/** The lines of the fenced code blocks of a Markdown text. */
function codeLines(text: string): string[] {
  return [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n').filter((l) => l.trim()));
}

describe('the root README', () => {
  const text = read('README.md');
  const all = sections(text);
  const quick = all.findIndex((s) => s.heading === 'Quick start');

  it('opens with what a user of the packages does, before the Quick start', () => {
    expect(quick).toBeGreaterThan(0);
    const before = all
      .slice(0, quick)
      .map((s) => s.body)
      .join('\n');
    const code = codeLines(before).join('\n');
    expect(code).toMatch(/npm install @cnn\/models-efficient/);
    expect(code).toMatch(/await loadPretrained\('[a-z0-9_]+'\)/);
    expect(code).toMatch(/await loadImage\(/);
    expect(code).toMatch(/\.predict\(/);
    expect(code).toMatch(/npx cnn train --model \S+ --dataset folder --data-dir \S+/);
  });

  it("keeps the Quick start's two command lines exactly, the second being what .ci/run runs", () => {
    const lines = codeLines(all[quick].body).map((l) => l.replace(/\s+#.*$/, ''));
    expect(lines).toEqual(['npm ci && npm run demo', 'npm ci && npm test']);
    const ci = read('.ci/run');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});

describe('the models-efficient README', () => {
  it('classifies a picture: loadImage, imagenetPreprocess and loadPretrained, no random input', () => {
    const code = codeLines(read('packages/models-efficient/README.md')).join('\n');
    expect(code).toMatch(/await loadImage\('[^']+\.(jpg|png)'\)/);
    expect(code).toMatch(/imagenetPreprocess\(/);
    expect(code).toMatch(/await loadPretrained\('[a-z0-9_]+'\)/);
    expect(code).not.toMatch(/randomNormal/);
  });
});

/** READMEs of the root and of each package, and the guide pages in both languages. */
function documents(): string[] {
  const out = ['README.md'];
  for (const p of readdirSync(join(ROOT, 'packages')).sort()) {
    if (existsSync(join(ROOT, 'packages', p, 'README.md'))) out.push(`packages/${p}/README.md`);
  }
  for (const dir of ['apps/docs/guide', 'apps/docs/zh/guide']) {
    for (const f of readdirSync(join(ROOT, dir)).sort()) if (f.endsWith('.md')) out.push(`${dir}/${f}`);
  }
  return out;
}

describe('imports shown in the READMEs and guide pages', () => {
  it('name only what each @cnn package exports', async () => {
    const modules = new Map<string, { runtime: Record<string, unknown>; types: string }>();
    const wrong: string[] = [];
    let checked = 0;
    for (const doc of documents()) {
      for (const m of read(doc).matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(@cnn\/[a-z-]+)'/g)) {
        const pkg = m[2];
        if (!modules.has(pkg)) {
          const dir = join(ROOT, 'packages', pkg.slice('@cnn/'.length));
          modules.set(pkg, {
            runtime: (await import(pkg)) as Record<string, unknown>,
            types: readFileSync(join(dir, 'dist', 'index.d.ts'), 'utf8'),
          });
        }
        const { runtime, types } = modules.get(pkg)!;
        for (const raw of m[1].split(',')) {
          const name = raw
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0];
          if (!name) continue;
          checked++;
          const typeExport = new RegExp(
            `\\b(?:interface|type|class|declare const|declare function) ${name}\\b|\\b${name}\\b[^;]*\\}`,
          );
          if (!(name in runtime) && !typeExport.test(types))
            wrong.push(`${relative(ROOT, join(ROOT, doc))}: ${pkg} has no export '${name}'`);
        }
      }
    }
    console.log(`[readmes] ${checked} imported names checked in ${documents().length} files`);
    expect(checked).toBeGreaterThan(50);
    expect(wrong).toEqual([]);
  });
});
