export {
  addOverTransport,
  failureOf,
  invalidOptionOf,
  type TestCertificateFile,
  testCertificates,
} from './tls-kit.js';
export {
  describeTracingAcrossBroker,
  type RecordedSpans,
  type TracingAcrossBrokerOptions,
} from './tracing-across-broker.js';
