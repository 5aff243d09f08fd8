export { describeTracingAcrossBroker, type TracingAcrossBrokerOptions } from './tracing-across-broker.js';
