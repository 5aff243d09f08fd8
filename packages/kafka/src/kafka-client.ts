import net from 'node:net';
import tls from 'node:tls';
import { BrokerConnectionError, describeTlsFailure } from '@conveyor/core/transport';
import { type ISocketFactory, Kafka, logLevel } from 'kafkajs';
import type { ResolvedKafkaOptions } from './options.js';

/** Where KafkaTransport takes its TLS settings, for messages that say what to change. */
export const KAFKA_TLS_OPTION_NAMES = { ca: 'ssl.ca', clientCertificate: 'ssl.cert and ssl.key' };

/** How long the TLS check before connecting may take. */
const TLS_CHECK_TIMEOUT_MS = 10_000;

/**
 * With TLS, one handshake with the first bootstrap broker before kafkajs connects: kafkajs retries
 * every connection error, an untrusted certificate included (8 retries, ~17 s), while a TLS failure
 * will not go away. Rejects with the TLS error when the handshake fails for a TLS reason; resolves
 * otherwise (an unreachable broker is left to kafkajs's retries).
 */
export function checkTlsHandshake(options: ResolvedKafkaOptions): Promise<void> {
  const ssl = options.ssl;
  const first = options.brokers[0];
  if (!ssl || first === undefined) return Promise.resolve();
  const [host] = splitHostPort(first);
  const [toHost, toPort] = splitHostPort(options.addressMap[first] ?? options.addressMap['*'] ?? first);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: toHost,
      port: toPort,
      ...(net.isIP(host) ? {} : { servername: host }),
      ...(ssl === true ? {} : ssl),
    });
    const done = (error?: unknown) => {
      socket.destroy();
      if (error !== undefined && describeTlsFailure(error, KAFKA_TLS_OPTION_NAMES)) reject(error);
      else resolve();
    };
    socket.setTimeout(TLS_CHECK_TIMEOUT_MS, () => done());
    socket.once('secureConnect', () => done());
    socket.once('error', done);
  });
}

/** kafkajs's own socket connect timeout, kept unless connectTimeoutMs is shorter. */
const KAFKAJS_CONNECTION_TIMEOUT_MS = 1000;

/** The last socket error of each kafkajs client, for a connect that times out to say why. */
const lastSocketErrors = new WeakMap<Kafka, Error>();

/** A kafkajs client for these options: brokers, TLS, SASL, the address map, no console logging. */
export function createKafkaClient(options: ResolvedKafkaOptions): Kafka {
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    ...(options.sasl !== undefined ? { sasl: options.sasl } : {}),
    connectionTimeout: Math.min(options.connectTimeoutMs, KAFKAJS_CONNECTION_TIMEOUT_MS),
    // Runs only once kafkajs connects, after `kafka` is assigned.
    socketFactory: socketFactory(options.addressMap, (error) => lastSocketErrors.set(kafka, error)),
    // kafkajs logs to the console by default; Conveyor reports through onError instead, and a log
    // line could carry a SASL username.
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
  });
  return kafka;
}

/** What connectWithin connects: kafkajs producers, admins, consumers. */
interface Connectable {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Connects `clients` of `kafka` within `connectTimeoutMs`: kafkajs retries a refused or silent
 * broker for seconds by itself, and waits 30 s (requestTimeout) for a silent one. On failure or
 * timeout they are disconnected (which ends kafkajs's retries); a timeout is a retryable
 * BrokerConnectionError naming the last socket error.
 */
export async function connectWithin(
  kafka: Kafka,
  options: ResolvedKafkaOptions,
  clients: readonly Connectable[],
): Promise<void> {
  const limitMs = options.connectTimeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let expired = false;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      const last = lastSocketErrors.get(kafka);
      reject(
        new BrokerConnectionError(
          `connect to Kafka at ${options.brokers.join(',')} timed out after ${limitMs} ms (connectTimeoutMs)${last ? `; last error: ${last.message}` : ''}`,
          { transport: 'kafka', retryable: true, ...(last ? { cause: last } : {}) },
        ),
      );
    }, limitMs);
  });
  try {
    await Promise.race([Promise.all(clients.map((client) => client.connect())), timedOut]);
  } catch (error) {
    const disconnected = Promise.allSettled(clients.map((client) => client.disconnect()));
    // After a timeout, not awaited: a disconnect waits for the request on its way (up to kafkajs's
    // 30 s requestTimeout against a silent broker), which is what the bound is there to cut short.
    if (!expired) await disconnected;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** kafkajs's socket factory with the advertised-address map applied (KafkaTransportOptions.addressMap). */
function socketFactory(
  addressMap: Record<string, string>,
  onSocketError: (error: Error) => void,
): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const mapped = addressMap[`${host}:${port}`] ?? addressMap['*'];
    const [toHost, toPort] = mapped ? splitHostPort(mapped) : [host, port];
    const socket = ssl
      ? tls.connect(
          { host: toHost, port: toPort, ...(net.isIP(host) ? {} : { servername: host }), ...ssl },
          onConnect,
        )
      : net.connect({ host: toHost, port: toPort }, onConnect);
    socket.setKeepAlive(true, 60_000);
    socket.on('error', onSocketError);
    return socket;
  };
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}
