import type { Endpoint } from '@conveyor/conformance';
import type { BrokerName } from './broker-profiles.js';

/** What the runner tells a worker process (JSON in argv[2]). */
export interface WorkerProcessSettings {
  readonly broker: BrokerName;
  /** The fault proxy in front of the broker. */
  readonly endpoint: Endpoint;
  readonly queue: string;
  readonly concurrency: number;
  /** This process's own append-only completion file. */
  readonly completionFile: string;
  /** Names the process in its completion records (slot and incarnation, e.g. `w1.3`). */
  readonly label: string;
}
