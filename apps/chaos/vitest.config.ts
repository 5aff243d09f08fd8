import { conveyorVitestConfig } from '@conveyor/vitest-preset';

export default conveyorVitestConfig({
  globalSetup: ['./test/global-setup.ts'],
  // Each run restarts brokers and kills processes: one file at a time.
  fileParallelism: false,
});
