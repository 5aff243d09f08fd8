import { conveyorVitestConfig } from '@conveyor/vitest-preset';

export default conveyorVitestConfig({
  // Each run restarts brokers and kills processes: one file at a time.
  fileParallelism: false,
});
