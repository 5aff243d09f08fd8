import { conveyorVitestConfig } from '@conveyor/vitest-preset';

export default conveyorVitestConfig({ globalSetup: ['./test/global-setup.ts'] });
