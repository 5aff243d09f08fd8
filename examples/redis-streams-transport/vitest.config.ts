import { conveyorVitestConfig } from '@conveyor/vitest-preset';

export default conveyorVitestConfig({
  globalSetup: ['./test/global-setup.ts'],
  // Both files use the one Redis, and the conformance run takes the CPU for long stretches.
  fileParallelism: false,
});
