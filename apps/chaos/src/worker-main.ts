// A chaos worker process: core's Worker on one broker, through the fault proxy, running the chaos
// tasks. Its settings come as JSON in argv[2] (WorkerProcessSettings). It prints "ready" once
// consuming and "error <message>" for each error the Worker reports; SIGTERM stops it cleanly. It
// exits START_FAILED_EXIT_CODE when it cannot start, STALLED_EXIT_CODE when it stopped consuming.
import { openSync } from 'node:fs';
import { Worker } from '@conveyor/core';
import { createChaosTransport } from './broker-profiles.js';
import { chaosTasks, FAIL_TASK } from './chaos-tasks.js';
import { STALLED_EXIT_CODE, START_FAILED_EXIT_CODE, type WorkerProcessSettings } from './worker-settings.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessSettings;
const fd = openSync(settings.completionFile, 'a');
const transport = createChaosTransport(settings.broker, settings.endpoint);
const worker = new Worker({
  transport,
  tasks: chaosTasks(fd, settings.label),
  queues: [settings.queue],
  concurrency: settings.concurrency,
  hostname: `chaos-${settings.label}`,
});
worker.on('error', ({ error }) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stdout.write(`error ${message.split('\n')[0]}\n`);
});
// A dead letter of anything but a meant-to-fail task is a finding: the runner reports each one.
worker.on('rejected', ({ taskId, name, reason }) => {
  if (name !== FAIL_TASK) process.stdout.write(`rejected ${taskId} ${name} ${reason.split('\n')[0]}\n`);
});
process.once('SIGTERM', () => {
  void worker
    .stop({ deadlineMs: 3000 })
    .then(() => transport.close())
    .finally(() => process.exit(0));
});
// The event loop ran empty: the Worker holds no timer and no connection any more, so it stopped
// consuming on its own. A finding: the runner counts it as a stalled worker.
process.once('beforeExit', () => {
  process.stdout.write('stalled\n');
  process.exit(STALLED_EXIT_CODE);
});
try {
  await worker.start();
} catch (error) {
  // The broker is down while this process starts: a supervisor starts it again.
  process.stdout.write(
    `start-failed ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`,
  );
  process.exit(START_FAILED_EXIT_CODE);
}
process.stdout.write('ready\n');
