import { conveyorVitestConfig } from '@conveyor/vitest-preset';

export default conveyorVitestConfig({
  globalSetup: ['./test/global-setup.ts'],
  // The suites measure: one file at a time keeps them from competing for the CPU.
  fileParallelism: false,
});
