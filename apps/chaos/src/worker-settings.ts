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

/** A worker process exits with this when it could not start (the broker was down). */
export const START_FAILED_EXIT_CODE = 3;
/** A worker process exits with this when its event loop ran empty: it had stopped consuming. */
export const STALLED_EXIT_CODE = 4;
