import { conveyorVitestConfig } from '@conveyor/vitest-preset';

export default conveyorVitestConfig();
