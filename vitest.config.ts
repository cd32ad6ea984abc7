// `npm test` runs every test under test/ (`vitest run --dir test`); see docs/quality.md.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
  },
});
