import { conveyorVitestConfig } from '@conveyor/vitest-preset';

// The global setup packs every published package once; both test files read the same tarballs.
export default conveyorVitestConfig({ globalSetup: ['./test/global-setup.ts'] });
