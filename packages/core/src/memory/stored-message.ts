import type { WireMessage } from '../message/wire-message.js';

/** A message as the in-memory broker keeps it. */
export interface StoredMessage {
  /** Decoded message; null when only `raw` bytes were published. */
  message: WireMessage | null;
  /** Bytes published with `publishRaw`, decoded as a kombu envelope at delivery time. */
  raw: Uint8Array | null;
  /** Core priority level, higher first. */
  priority: number;
  /** The publisher's ordering key, handed back on every delivery. */
  orderingKey?: string | undefined;
  /** Times this message has been handed to a consumer. */
  deliveryCount: number;
}
