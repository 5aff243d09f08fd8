export { formatCeleryDate, formatNaiveCeleryDate, parseCeleryDate } from './celery-date.js';
export { type Codec, CodecRegistry, defaultCodecs, jsonCodec, registerCodec } from './codec-registry.js';
export { decodeTaskMessage } from './decode-task.js';
export { encodeTaskMessage, type TaskMessageInput } from './encode-task.js';
export type { JsonValue } from './json-value.js';
export {
  type DecodedKombuEnvelope,
  type DeliveryInfo,
  decodeKombuEnvelope,
  encodeKombuEnvelope,
} from './kombu-envelope.js';
export { pythonArgsRepr, pythonKwargsRepr } from './python-repr.js';
export type { TaskEmbed, TaskMessage } from './task-message.js';
export type { WireMessage, WireProperties } from './wire-message.js';
