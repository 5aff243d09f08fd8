export type { JsonValue } from './json-value.js';
export type { WireMessage, WireProperties } from './wire-message.js';
export type { TaskMessage, TaskEmbed } from './task-message.js';
export { encodeTaskMessage, type TaskMessageInput } from './encode-task.js';
export { decodeTaskMessage } from './decode-task.js';
export { formatCeleryDate, formatNaiveCeleryDate, parseCeleryDate } from './celery-date.js';
export { type Codec, CodecRegistry, jsonCodec, defaultCodecs, registerCodec } from './codec-registry.js';
export {
  encodeKombuEnvelope,
  decodeKombuEnvelope,
  type DeliveryInfo,
  type DecodedKombuEnvelope,
} from './kombu-envelope.js';
export { pythonArgsRepr, pythonKwargsRepr } from './python-repr.js';
