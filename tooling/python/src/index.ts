export {
  type CapturedKombuEnvelope,
  type CeleryConnectionOptions,
  type CeleryExceptionInfo,
  type CeleryWorker,
  capturePythonKafkaRecords,
  capturePythonRedisEnvelopes,
  capturePythonSqsEnvelopes,
  ensurePythonCelery,
  type GetResultFromPythonOptions,
  getResultFromPython,
  INTEROP_DIR,
  type KafkaRecordCapture,
  type KombuKafkaRead,
  PYTHON_TOOLING_DIR,
  type PythonResult,
  type RedisEnvelopeCapture,
  SETUP_SCRIPT,
  type SendFromPythonOptions,
  type SendFromPythonResult,
  type SqsEnvelopeCapture,
  type StartCeleryWorkerOptions,
  sendFromPython,
  startCeleryWorker,
} from './celery.js';
// Celery's command line (celery inspect, celery control) for the remote-control tests.
export { type CeleryCommandRun, runCeleryRemoteControl } from './celery-control.js';
// Skip on a developer's machine, fail under CI: for any test that needs what a machine may lack.
export {
  type CapturedCeleryEvent,
  type CeleryEventCapture,
  type CeleryEventState,
  captureCeleryEvents,
} from './celery-events.js';
export { isCi, skipOrFailInCi } from './ci.js';
export { type RunningFlower, startFlower } from './flower.js';
