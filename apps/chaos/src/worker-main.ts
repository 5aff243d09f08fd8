// A chaos worker process: core's Worker on one broker, through the fault proxy, running the chaos
// tasks. Its settings come as JSON in argv[2] (WorkerProcessSettings). It prints "ready" once
// consuming and "error <message>" for each error the Worker reports; SIGTERM stops it cleanly.
import { openSync } from 'node:fs';
import { Worker } from '@conveyor/core';
import { createChaosTransport } from './broker-profiles.js';
import { chaosTasks, FAIL_TASK } from './chaos-tasks.js';
import type { WorkerProcessSettings } from './worker-settings.js';

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
await worker.start();
process.stdout.write('ready\n');
