import net from 'node:net';
import tls from 'node:tls';
import { describeTlsFailure } from '@conveyor/core/transport';
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

/** A kafkajs client for these options: brokers, TLS, SASL, the address map, no console logging. */
export function createKafkaClient(options: ResolvedKafkaOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    ...(options.sasl !== undefined ? { sasl: options.sasl } : {}),
    socketFactory: socketFactory(options.addressMap),
    // kafkajs logs to the console by default; Conveyor reports through onError instead, and a log
    // line could carry a SASL username.
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
  });
}

/** kafkajs's socket factory with the advertised-address map applied (KafkaTransportOptions.addressMap). */
function socketFactory(addressMap: Record<string, string>): ISocketFactory {
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
    return socket;
  };
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}
