import type { ConnectionOptions } from 'node:tls';
import {
  checkTlsOptions,
  hasUnencodedCredentials,
  InvalidBrokerUrlError,
  InvalidOptionError,
  isTlsUrlParameter,
  printedWithoutSecrets,
  tlsFromUrlParameters,
} from '@conveyor/core/transport';
import type { SASLOptions } from 'kafkajs';

/** Compression of produced batches. kafkajs carries gzip itself; other codecs need plug-ins. */
export type KafkaCompression = 'none' | 'gzip';

/** When hand-out counts are stored: see KafkaTransportOptions.deliveryCounts. */
export type KafkaDeliveryCounts = 'before-handout' | 'after-handout';

/** SASL mechanisms Conveyor accepts from options and URLs (credentials never appear in errors). */
export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** Options of KafkaTransport. */
export interface KafkaTransportOptions {
  /**
   * `kafka://host:port[,host:port]` (plain), `kafka+ssl://…` (TLS). `user:password@` before the
   * hosts turns SASL on (mechanism from `?mechanism=`, default scram-sha-512). Query parameters:
   * partitions, replicationFactor, createTopics, clientId, compression, sessionTimeoutMs,
   * commitIntervalMs, mechanism, addressMap (`from=to[,from=to]`, `from` may be `*`); with
   * `kafka+ssl://`, tlsCa, tlsCert and tlsKey: paths of PEM files (a private CA, a client
   * certificate and its key), read when the transport is built.
   */
  url?: string;
  /** Bootstrap brokers, `host:port`. Default `['127.0.0.1:9092']` when no URL is given. */
  brokers?: string[];
  /** Client id shown in broker logs and quotas. Default `conveyor`. */
  clientId?: string;
  /**
   * TLS. `true` verifies the brokers against Node's default CAs; Node TLS options add `ca` (PEM: a
   * private CA), `cert` and `key` (PEM: a client certificate, for `ssl.client.auth`). Certificates
   * are always verified unless `rejectUnauthorized: false` says otherwise. Checked when the
   * transport is built: InvalidOptionError names `ssl.ca`, `ssl.cert` or `ssl.key`. A TLS failure
   * at connect is a BrokerConnectionError that is not retryable, raised at once (not after
   * kafkajs's retries).
   */
  ssl?: boolean | ConnectionOptions;
  /**
   * SASL authentication (plain, scram-sha-256, scram-sha-512, oauthbearer, aws); use it with `ssl`,
   * or the password crosses the network in the clear (PLAIN) or the session is unencrypted. Refused
   * credentials are a BrokerAuthenticationError naming the user, never the password.
   */
  sasl?: SASLOptions;
  /**
   * Partition count of the topics `declareQueue` creates (and of the delay topics). More partitions
   * let more workers share a queue: a group gives each partition to one member. Default 3.
   */
  partitions?: number;
  /** Replication factor of created topics; -1 takes the broker's `default.replication.factor`. */
  replicationFactor?: number;
  /**
   * `declareQueue` creates missing topics. With false, a missing topic is a TopicMissingError
   * (declare, publish, consume) naming the topic, for clusters where topics are provisioned.
   * Default true.
   */
  createTopics?: boolean;
  /** Compression of produced records. Default `none`. */
  compression?: KafkaCompression;
  /**
   * Acknowledged offsets are committed at most this often per consumer (plus on rebalance and
   * close). A crash redelivers what was acked but not yet committed. Default 20.
   */
  commitIntervalMs?: number;
  /**
   * A consumer that sends no heartbeat for this long is removed from its group and its partitions
   * move to the others (the broker bounds it by group.min/max.session.timeout.ms). Default 10 000.
   */
  sessionTimeoutMs?: number;
  /**
   * How long `connect()` may take before it fails with a retryable BrokerConnectionError (naming
   * the last socket error, such as ECONNREFUSED). kafkajs by itself retries a refused broker for
   * seconds and waits 30 s (its requestTimeout) for one that accepts the connection but never
   * answers; this bounds the wait. No single socket connect takes longer (kafkajs
   * `connectionTimeout`: the lower of this and 1000 ms). Default 10 000.
   */
  connectTimeoutMs?: number;
  /**
   * Dial another address for a broker than the one it advertises, e.g.
   * `{ '10.0.0.5:9092': '127.0.0.1:19092' }` through a tunnel or port-forward. Kafka clients connect
   * to the advertised addresses after bootstrap, so a proxy in front of the bootstrap address alone
   * is bypassed. The key `*` sends every connection to one address (a single-node cluster behind
   * a proxy).
   */
  addressMap?: Record<string, string>;
  /**
   * When a hand-out's count reaches the broker's ledger (the commit metadata that keeps
   * deliveryCount exact when another member replays a record). `before-handout`: a record goes to
   * its handler only once its count is stored, so even a worker killed at once is counted, at the
   * cost of a coordinator round trip per batch of hand-outs (throughput is then about prefetch per
   * round trip). `after-handout`: the count is stored right after, alongside the work; a worker
   * killed within that round trip (a few ms) under-counts the records it had just received, once.
   * Graceful closes and rebalances are exact either way. Default `after-handout`.
   */
  deliveryCounts?: KafkaDeliveryCounts;
  /** Prefix of the shared delay topics (`<prefix>.<seconds>s`). Default `conveyor.delay`. */
  delayTopicPrefix?: string;
  /**
   * Run the delay forwarder (a consumer group over the delay topics) beside the first consumer of
   * this transport. Some Conveyor consumer on the cluster must run it, or delayed messages never
   * move. Default true.
   */
  delayForwarder?: boolean;
}

/** Options with every default applied and validated. */
export interface ResolvedKafkaOptions {
  brokers: string[];
  clientId: string;
  ssl: boolean | ConnectionOptions | undefined;
  sasl: SASLOptions | undefined;
  partitions: number;
  replicationFactor: number;
  createTopics: boolean;
  compression: KafkaCompression;
  commitIntervalMs: number;
  sessionTimeoutMs: number;
  connectTimeoutMs: number;
  addressMap: Record<string, string>;
  delayTopicPrefix: string;
  delayForwarder: boolean;
  deliveryCounts: KafkaDeliveryCounts;
}

const KNOWN = new Set<string>([
  'url',
  'brokers',
  'clientId',
  'ssl',
  'sasl',
  'partitions',
  'replicationFactor',
  'createTopics',
  'compression',
  'commitIntervalMs',
  'sessionTimeoutMs',
  'connectTimeoutMs',
  'addressMap',
  'delayTopicPrefix',
  'delayForwarder',
  'deliveryCounts',
]);

const HOST_PORT = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/i;

/** Validates options and merges the URL into them; every error names the option. */
export function resolveKafkaOptions(options: KafkaTransportOptions): ResolvedKafkaOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'must be an object or a URL string');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(key, 'unknown KafkaTransport option');
  }
  const fromUrl = options.url ? parseKafkaUrl(options.url) : {};
  const merged: KafkaTransportOptions = { ...fromUrl, ...withoutUndefined(options) };
  // `ssl: true` in code keeps the files a kafka+ssl:// URL named.
  if (options.ssl === true && typeof fromUrl.ssl === 'object') merged.ssl = fromUrl.ssl;
  const resolved: ResolvedKafkaOptions = {
    brokers: merged.brokers ?? ['127.0.0.1:9092'],
    clientId: merged.clientId ?? 'conveyor',
    ssl: merged.ssl,
    sasl: merged.sasl,
    partitions: merged.partitions ?? 3,
    replicationFactor: merged.replicationFactor ?? -1,
    createTopics: merged.createTopics ?? true,
    compression: merged.compression ?? 'none',
    commitIntervalMs: merged.commitIntervalMs ?? 20,
    sessionTimeoutMs: merged.sessionTimeoutMs ?? 10_000,
    connectTimeoutMs: merged.connectTimeoutMs ?? 10_000,
    addressMap: merged.addressMap ?? {},
    delayTopicPrefix: merged.delayTopicPrefix ?? 'conveyor.delay',
    delayForwarder: merged.delayForwarder ?? true,
    deliveryCounts: merged.deliveryCounts ?? 'after-handout',
  };
  if (!Array.isArray(resolved.brokers) || resolved.brokers.length === 0)
    throw new InvalidOptionError('brokers', 'must be a non-empty array of "host:port"');
  for (const broker of resolved.brokers) {
    if (typeof broker !== 'string' || !HOST_PORT.test(broker))
      throw new InvalidOptionError('brokers', `expected "host:port", got ${JSON.stringify(broker)}`);
  }
  if (typeof resolved.clientId !== 'string' || resolved.clientId === '')
    throw new InvalidOptionError('clientId', 'must be a non-empty string');
  if (resolved.ssl !== undefined && typeof resolved.ssl !== 'boolean' && typeof resolved.ssl !== 'object')
    throw new InvalidOptionError('ssl', 'must be true, false or Node TLS connection options');
  if (typeof resolved.ssl === 'object') checkTlsOptions('ssl', resolved.ssl);
  if (resolved.sasl !== undefined) checkSasl(resolved.sasl);
  const p = resolved.partitions;
  if (!(Number.isInteger(p) && p >= 1 && p <= 10_000))
    throw new InvalidOptionError('partitions', 'must be an integer from 1 to 10000');
  const r = resolved.replicationFactor;
  if (!(Number.isInteger(r) && (r === -1 || (r >= 1 && r <= 32))))
    throw new InvalidOptionError(
      'replicationFactor',
      'must be -1 (broker default) or an integer from 1 to 32',
    );
  if (typeof resolved.createTopics !== 'boolean')
    throw new InvalidOptionError('createTopics', 'must be true or false');
  if (resolved.compression !== 'none' && resolved.compression !== 'gzip')
    throw new InvalidOptionError(
      'compression',
      `must be "none" or "gzip", got ${JSON.stringify(resolved.compression)}`,
    );
  const c = resolved.commitIntervalMs;
  if (!(Number.isFinite(c) && c >= 0 && c <= 60_000))
    throw new InvalidOptionError('commitIntervalMs', 'must be a number of ms from 0 to 60000');
  const s = resolved.sessionTimeoutMs;
  if (!(Number.isInteger(s) && s >= 1000 && s <= 3_600_000))
    throw new InvalidOptionError('sessionTimeoutMs', 'must be an integer number of ms from 1000 to 3600000');
  const t = resolved.connectTimeoutMs;
  if (!(Number.isFinite(t) && t > 0))
    throw new InvalidOptionError('connectTimeoutMs', 'must be a positive number of ms');
  if (typeof resolved.addressMap !== 'object' || resolved.addressMap === null)
    throw new InvalidOptionError('addressMap', 'must map "host:port" to "host:port"');
  for (const [from, to] of Object.entries(resolved.addressMap)) {
    if ((from !== '*' && !HOST_PORT.test(from)) || typeof to !== 'string' || !HOST_PORT.test(to))
      throw new InvalidOptionError(
        'addressMap',
        `expected "host:port" → "host:port", got ${from} → ${String(to)}`,
      );
  }
  if (
    typeof resolved.delayTopicPrefix !== 'string' ||
    !/^[A-Za-z0-9._-]{1,200}$/.test(resolved.delayTopicPrefix)
  )
    throw new InvalidOptionError('delayTopicPrefix', 'must be 1-200 characters of [A-Za-z0-9._-]');
  if (resolved.deliveryCounts !== 'before-handout' && resolved.deliveryCounts !== 'after-handout')
    throw new InvalidOptionError('deliveryCounts', 'must be "before-handout" or "after-handout"');
  if (typeof resolved.delayForwarder !== 'boolean')
    throw new InvalidOptionError('delayForwarder', 'must be true or false');
  // console.log(transport) and JSON loggers must not print the SASL password.
  return printedWithoutSecrets(resolved);
}

function checkSasl(sasl: SASLOptions): void {
  if (typeof sasl !== 'object' || sasl === null)
    throw new InvalidOptionError('sasl', 'must be an object with a mechanism');
  const mechanisms = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer', 'aws'];
  if (!mechanisms.includes(sasl.mechanism))
    throw new InvalidOptionError('sasl', `mechanism must be one of ${mechanisms.join(', ')}`);
  if (
    (sasl.mechanism === 'plain' || sasl.mechanism.startsWith('scram')) &&
    (typeof (sasl as { username?: unknown }).username !== 'string' ||
      typeof (sasl as { password?: unknown }).password !== 'string')
  )
    throw new InvalidOptionError('sasl', `${sasl.mechanism} needs a username and a password`);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Parses `kafka://[user:password@]host:port[,host:port]` and `kafka+ssl://…`. The password is
 * URL-decoded; InvalidBrokerUrlError hides it.
 */
export function parseKafkaUrl(url: string): KafkaTransportOptions {
  // Before parsing: a parse error would otherwise quote the part of the password it misread.
  if (hasUnencodedCredentials(url)) {
    throw new InvalidBrokerUrlError(
      url,
      'the user name or password holds a character it must URL-encode ("/", "?", "#", "@", "%"): encode them with encodeURIComponent',
    );
  }
  const match = /^(kafka|kafka\+ssl):\/\/(?:([^@/?#]*)@)?([^/?#]*)\/?(\?[^#]*)?$/i.exec(url);
  if (!match) throw new InvalidBrokerUrlError(url, 'expected kafka://host:port[,host:port] or kafka+ssl://…');
  const [, scheme = '', userInfo, hosts = '', query = ''] = match;
  const out: KafkaTransportOptions = {};
  if (hosts !== '') {
    const brokers = hosts.split(',').map((h) => (h.includes(':') ? h : `${h}:9092`));
    for (const broker of brokers) {
      if (!HOST_PORT.test(broker)) throw new InvalidBrokerUrlError(url, `bad broker address "${broker}"`);
    }
    out.brokers = brokers;
  }
  if (scheme.toLowerCase() === 'kafka+ssl') out.ssl = true;
  let mechanism: KafkaSaslMechanism = 'scram-sha-512';
  const parameters = new URLSearchParams(query);
  for (const [key, value] of parameters) {
    if (isTlsUrlParameter(key)) {
      if (out.ssl !== true) throw new InvalidOptionError(key, 'needs a kafka+ssl:// URL');
    } else if (key === 'partitions') out.partitions = Number(value);
    else if (key === 'replicationFactor') out.replicationFactor = Number(value);
    else if (key === 'createTopics') out.createTopics = value === 'true' || value === '1';
    else if (key === 'clientId') out.clientId = value;
    else if (key === 'compression') out.compression = value as KafkaCompression;
    else if (key === 'sessionTimeoutMs') out.sessionTimeoutMs = Number(value);
    else if (key === 'commitIntervalMs') out.commitIntervalMs = Number(value);
    else if (key === 'addressMap') out.addressMap = parseAddressMap(value);
    else if (key === 'deliveryCounts') out.deliveryCounts = value as KafkaDeliveryCounts;
    else if (key === 'mechanism') {
      if (value !== 'plain' && value !== 'scram-sha-256' && value !== 'scram-sha-512')
        throw new InvalidOptionError('mechanism', 'must be plain, scram-sha-256 or scram-sha-512');
      mechanism = value;
    } else throw new InvalidOptionError(key, 'unknown kafka:// URL parameter');
  }
  const tls = tlsFromUrlParameters(parameters);
  if (tls) out.ssl = tls;
  if (userInfo !== undefined) {
    const [user = '', password = ''] = userInfo.split(':');
    out.sasl = { mechanism, username: decodeURIComponent(user), password: decodeURIComponent(password) };
  }
  return out;
}

/** `from=to[,from=to]` of the addressMap URL parameter. */
function parseAddressMap(value: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new InvalidOptionError('addressMap', `expected from=to pairs, got "${pair}"`);
    map[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return map;
}
