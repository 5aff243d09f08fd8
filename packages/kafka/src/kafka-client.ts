import net from 'node:net';
import tls from 'node:tls';
import { type ISocketFactory, Kafka, logLevel } from 'kafkajs';
import type { ResolvedKafkaOptions } from './options.js';

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
