/**
 * Every file under examples/ is run here in Node, exactly as a page's Run button runs it in the
 * browser, and its output is checked against test/expectations.ts. The pages are checked too: each
 * example is shown (`<<< @/examples/<id>.ts`) and runnable (`<RunExample id="<id>" />`) on an
 * English page and on its Chinese twin, and a page runs only what it shows.
 */
import { describe, expect, it, vi } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '@cnn/tensor';
import { EXPECTED } from './expectations';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -'.ts'.length))
  .sort();

interface Example {
  run(log: (line: string) => void): Promise<void>;
}

describe('every example runs in Node and prints what its page promises', () => {
  it('has an expectation for every example file, and a file for every expectation', () => {
    expect(EXAMPLES).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const id of EXAMPLES) {
    it(`examples/${id}.ts`, async () => {
      const mod = (await import(`../examples/${id}.ts`)) as Example;
      expect(typeof mod.run, `examples/${id}.ts must export run(log)`).toBe('function');
      const lines: string[] = [];
      await mod.run((line) => lines.push(line));
      const before = tf.memory().numTensors;
      // A second run gives the same printed shapes and leaves no tensor behind.
      const again: string[] = [];
      await mod.run((line) => again.push(line));
      expect(tf.memory().numTensors, `examples/${id}.ts leaks tensors`).toBe(before);
      const output = lines.join('\n');
      for (const pattern of EXPECTED[id] ?? []) expect(output).toMatch(pattern);
      expect(again.length).toBe(lines.length);
    });
  }
});

describe("setBackend('auto') without CUDA", () => {
  it('falls back to wasm with exactly one warning line', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const lines: string[] = [];
      await ((await import('../examples/backend')) as Example).run((line) => lines.push(line));
      if (lines[0] === 'active backend: cuda') return; // a machine where CUDA works: nothing to fall back from
      expect(lines[0]).toBe('active backend: wasm');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/^cnn: CUDA backend unavailable \(.+\); using wasm$/);
    } finally {
      warn.mockRestore();
    }
  });
});

/** Markdown pages under the docs root (not node_modules, not build output). */
function pages(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (
      entry.name.startsWith('.') ||
      ['node_modules', 'test', 'test-results', 'examples', 'scripts'].includes(entry.name)
    )
      continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...pages(full));
    else if (entry.name.endsWith('.md') && entry.name !== 'README.md') out.push(relative(ROOT, full));
  }
  return out.sort();
}

/** The examples a page shows (snippet imports) and runs (Run buttons). */
function examplesOf(page: string): { shown: string[]; run: string[] } {
  const text = readFileSync(join(ROOT, page), 'utf8');
  const shown = [...text.matchAll(/^<<< @\/examples\/([\w-]+)\.ts/gm)].map((m) => m[1]);
  const run = [...text.matchAll(/<RunExample\s+id="([\w-]+)"/g)].map((m) => m[1]);
  return { shown, run };
}

describe('the model family pages', () => {
  it('every model in the registry has a family page, in English and in Chinese', async () => {
    const { listModels, getCard } = await import('@cnn/models-efficient');
    const { familyPage } = await import('../models/cards');
    const needed = new Set(listModels().map((id) => familyPage(id, getCard(id).family)));
    expect(needed.size).toBeGreaterThanOrEqual(9);
    for (const page of needed) {
      for (const file of [`models/${page}.md`, `zh/models/${page}.md`]) {
        const text = readFileSync(join(ROOT, file), 'utf8');
        expect(text, `${file} lists its models`).toContain(`<FamilyModels page="${page}" />`);
        expect(text, `${file} draws its idea`).toMatch(/<ArchDiagram kind="\w+"/);
        expect(text, `${file} shows a summary`).toMatch(/<ModelSummary id="[\w]+" \/>/);
      }
    }
  });
});

describe('pages and examples are wired together', () => {
  const english = pages().filter((p) => !p.startsWith('zh/'));

  it('every English page has a Chinese twin with the same examples, in the same order', () => {
    for (const page of english) {
      const twin = join('zh', page);
      expect(pages(), `${page} has no Chinese page ${twin}`).toContain(twin);
      expect(examplesOf(twin), `${twin} must show and run the examples of ${page}`).toEqual(examplesOf(page));
    }
    expect(pages().filter((p) => p.startsWith('zh/')).length).toBe(english.length);
  });

  it('a page runs exactly the files it shows', () => {
    for (const page of pages()) {
      const { shown, run } = examplesOf(page);
      expect([...new Set(run)].sort(), page).toEqual([...new Set(shown)].sort());
    }
  });

  it('every example file is on some page', () => {
    const used = new Set(english.flatMap((p) => examplesOf(p).run));
    expect(EXAMPLES.filter((id) => !used.has(id))).toEqual([]);
  });
});
