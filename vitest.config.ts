import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // e2e tests spawn gateway processes and brokers; keep parallelism modest on 2 cores.
    maxWorkers: 2,
  },
});
