import type { ConnectionOptions } from 'node:tls';
import {
  BrokerAuthenticationError,
  BrokerConnectionError,
  type ConveyorError,
  InvalidOptionError,
} from '@conveyor/core';
import {
  checkTlsOptions,
  describeTlsFailure,
  isTlsUrlParameter,
  tlsFromUrlParameters,
} from '@conveyor/core/transport';

/**
 * The TLS settings of a connection: the PEM files an `amqps://` URL names (`tlsCa`, `tlsCert`,
 * `tlsKey`), then the `tls` option over them, checked when the transport is built. TLS settings
 * with a plain `amqp://` URL are an error rather than silently unused.
 */
export function resolveAmqpTls(
  url: string,
  tls: ConnectionOptions | undefined,
): ConnectionOptions | undefined {
  const secure = /^amqps:\/\//i.test(url);
  const parameters = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  for (const key of parameters.keys()) {
    if (isTlsUrlParameter(key) && !secure) throw new InvalidOptionError(key, 'needs an amqps:// URL');
  }
  if (tls !== undefined && !secure)
    throw new InvalidOptionError('tls', 'needs an amqps:// URL (amqp:// is plain TCP)');
  if (tls !== undefined) checkTlsOptions('tls', tls);
  const fromUrl = tlsFromUrlParameters(parameters);
  return fromUrl || tls ? { ...fromUrl, ...tls } : undefined;
}

/**
 * The error a failed connect is reported with: BrokerAuthenticationError when RabbitMQ refused the
 * login, a BrokerConnectionError that is not retryable and says what to change when TLS failed,
 * else a retryable BrokerConnectionError. `where` is the URL without its password.
 */
export function amqpConnectFailure(
  where: string,
  user: string,
  error: unknown,
  transport: string,
): ConveyorError {
  const text = error instanceof Error ? error.message : String(error);
  if (/ACCESS[-_]REFUSED/.test(text))
    return new BrokerAuthenticationError(
      `RabbitMQ at ${where} refused the login of user "${user}": ${text}`,
      {
        cause: error,
        transport,
      },
    );
  const tls = describeTlsFailure(error, { ca: 'tls.ca', clientCertificate: 'tls.cert and tls.key' });
  if (tls)
    return new BrokerConnectionError(`cannot connect to RabbitMQ at ${where}: ${tls}`, {
      cause: error,
      transport,
      retryable: false,
    });
  return new BrokerConnectionError(`cannot connect to RabbitMQ at ${where}: ${text}`, {
    cause: error,
    transport,
  });
}

/** The user name of an AMQP URL (amqplib's default is guest). */
export function amqpUser(url: string): string {
  const match = /^amqps?:\/\/([^:@/]*)(?::[^@/]*)?@/i.exec(url);
  return match?.[1] ? decodeURIComponent(match[1]) : 'guest';
}
