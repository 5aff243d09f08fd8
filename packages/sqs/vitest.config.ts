import { conveyorVitestConfig } from '@conveyor/vitest-preset';

export default conveyorVitestConfig({
  globalSetup: ['./test/global-setup.ts'],
  // Files share one ElasticMQ; the conformance files take the CPU for long stretches.
  fileParallelism: false,
});
