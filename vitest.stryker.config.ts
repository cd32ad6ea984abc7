// The unit tests of the mutated modules, for `npm run mutate` (stryker.config.json): fast and
// independent of carbon, ptys and the CLI build. `npm test` runs everything under test/.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/protocol/**/*.test.ts', 'test/rrd/**/*.test.ts', 'test/delivery/**/*.test.ts', 'test/destinations/**/*.test.ts', 'test/status/status-page.test.ts', 'test/backend/board-registry.test.ts'],
  },
});
