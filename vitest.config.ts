import { defineConfig } from 'vitest/config';

// One vitest run over every package. Two cores: at most two test files at a time,
// each in its own forked process (the wasm backend keeps global state per process).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    pool: 'forks',
    maxWorkers: 2,
  },
});
