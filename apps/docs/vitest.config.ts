import { defineConfig } from 'vitest/config';

// The docs' tests: every example file run in Node (examples.test.ts), and the built site in
// headless Chromium (browser.test.ts). The browser file builds the site first, hence the timeouts.
export default defineConfig({
  test: {
    name: 'docs',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
