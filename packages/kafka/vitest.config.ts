import { conveyorVitestConfig } from '@conveyor/vitest-preset';

export default conveyorVitestConfig({
  globalSetup: ['./test/global-setup.ts'],
  // Files share one Kafka broker, and consumer-group rebalances are slow under CPU contention.
  fileParallelism: false,
});
