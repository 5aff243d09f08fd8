import { conveyorVitestConfig } from '@conveyor/vitest-preset';

// Each file's beforeAll runs `brokers.sh up <broker>`; brokers.sh serialises concurrent runs itself.
export default conveyorVitestConfig();
