import { defineConfig } from 'vitest/config';

// The docs' tests: every example file run in Node (examples.test.ts), and the built site in
// headless Chromium (browser.test.ts). The browser file builds the site first, hence the timeouts.
// The limits are generous on purpose: they catch a hang, never a slow machine (a run with both cores
// busy must pass); none of these tests checks speed.
export default defineConfig({
  test: {
    name: 'docs',
    include: ['test/**/*.test.ts'],
    // An example in Node (run twice), or a page's checks in Chromium (browser.test.ts sets its own, longer ones).
    testTimeout: 300_000,
    // browser.test.ts's beforeAll builds the site (TypeDoc, then vitepress build).
    hookTimeout: 900_000,
    // A page's element reaching a state (a shape redrawn, a view trained): a minute, unless the test asks for more.
    expect: { poll: { timeout: 60_000, interval: 100 } },
  },
});
