import type { ConnectionOptions } from 'node:tls';
import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import {
  checkTlsOptions,
  InvalidBrokerUrlError,
  InvalidOptionError,
  isTlsUrlParameter,
  printedWithoutSecrets,
  tlsFromUrlParameters,
} from '@conveyor/core/transport';

/** Options of SqsTransport. Credentials and region come from the standard AWS provider chain. */
export interface SqsTransportOptions {
  /**
   * `sqs://` (AWS, region from the provider chain or `?region=`), `sqs://host:port` (an
   * SQS-compatible server over http, such as ElasticMQ) or `sqs+https://host:port` (over TLS).
   * Query parameters: region, queueNamePrefix, visibilityTimeoutMs, waitTimeSeconds, fifo; with
   * `sqs+https://` (or AWS's `sqs://`), tlsCa, tlsCert and tlsKey: paths of PEM files (a private
   * CA, a client certificate and its key), read when the transport is built.
   */
  url?: string;
  /** Endpoint URL of an SQS-compatible server, e.g. `http://127.0.0.1:9324`. Default: AWS's. */
  endpoint?: string;
  /** AWS region. Default: the provider chain's (AWS_REGION, profile), else `us-east-1`. */
  region?: string;
  /** Prepended to every queue name before kombu's mangling (kombu's `queue_name_prefix`). */
  queueNamePrefix?: string;
  /**
   * Every queue is a FIFO queue (`.fifo` is appended to names without it): per-key ordering
   * (MessageGroupId) and deduplication, no per-message delay. Default false.
   */
  fifo?: boolean;
  /**
   * A delivery not settled (nor extended) within this time is handed out again. Passed on every
   * receive, so it holds whatever the queue was created with; rounded up to whole seconds.
   * Default 300 000 (5 minutes); at most 43 200 000 (12 h).
   */
  visibilityTimeoutMs?: number;
  /** Long-poll wait of a receive, 0..20 s. Default 20. */
  waitTimeSeconds?: number;
  /**
   * How long `connect()` may take (its first request must be answered within it), and how long
   * the TCP connect and TLS handshake of any later request may take, before it fails with a
   * retryable BrokerConnectionError. The AWS SDK sets no bound of its own: an endpoint that
   * accepts the connection but never answers would hang the caller for good. Default 5000.
   */
  connectTimeoutMs?: number;
  /**
   * How long one request may take from start to answer before it fails with a retryable
   * BrokerConnectionError, so that a connection that goes silent (a network partition) is given up
   * and a consumer receives again on a new one. A receive long-polls for `waitTimeSeconds`, so this
   * must exceed that by at least 2000 ms. Default: `waitTimeSeconds` + 10 s (30 000).
   */
  requestTimeoutMs?: number;
  /** kombu's `sqs_base64_encoding`: base64 the whole envelope. Must match Python's. Default true. */
  base64Encoding?: boolean;
  /**
   * On `declareQueue`, also create the dead-letter queue and give the queue a RedrivePolicy with
   * this maxReceiveCount: a crash-loop safety net beside `reject`. Default: none.
   */
  redriveMaxReceiveCount?: number;
  /**
   * Longest delay one SQS hop carries (DelaySeconds); longer delays are carried in hops. Default
   * and maximum 900 000 (15 minutes, SQS's limit); a multiple of 1000. Tests lower it so that a
   * delay of seconds exercises the hops.
   */
  maxNativeDelayMs?: number;
  /**
   * TLS for an https endpoint: `ca` (PEM: a private CA, e.g. of a TLS terminator in front of
   * ElasticMQ), `cert` and `key` (PEM: a client certificate). The server's certificate is always
   * verified unless `rejectUnauthorized: false` says otherwise. Checked when the transport is
   * built: InvalidOptionError names `tls.ca`, `tls.cert` or `tls.key`; with an http:// endpoint,
   * `tls`. Ignored when `client.requestHandler` is given (that handler decides).
   */
  tls?: ConnectionOptions;
  /** Extra @aws-sdk/client-sqs client options (credentials, retries, request handler), applied last. */
  client?: SQSClientConfig;
}

/** Options with every default applied and validated. */
export interface ResolvedSqsOptions {
  endpoint: string | undefined;
  region: string | undefined;
  queueNamePrefix: string;
  fifo: boolean;
  visibilityTimeoutMs: number;
  waitTimeSeconds: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  base64Encoding: boolean;
  redriveMaxReceiveCount: number | undefined;
  maxNativeDelayMs: number;
  tls: ConnectionOptions | undefined;
  client: SQSClientConfig;
}

/** SQS's longest DelaySeconds, 15 minutes. */
export const SQS_MAX_DELAY_MS = 900_000;
/** SQS's longest visibility timeout, 12 hours. */
export const SQS_MAX_VISIBILITY_MS = 43_200_000;

/** How much longer than a long poll a request may take: the reply has to travel back. */
const REQUEST_TIMEOUT_MARGIN_MS = 2000;

const KNOWN = new Set([
  'url',
  'endpoint',
  'region',
  'queueNamePrefix',
  'fifo',
  'visibilityTimeoutMs',
  'waitTimeSeconds',
  'connectTimeoutMs',
  'requestTimeoutMs',
  'base64Encoding',
  'redriveMaxReceiveCount',
  'maxNativeDelayMs',
  'tls',
  'client',
]);

/** Validates options and merges the URL into them; every error names the option. */
export function resolveSqsOptions(options: SqsTransportOptions): ResolvedSqsOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'must be an object or a URL string');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(key, 'unknown SqsTransport option');
  }
  const fromUrl = options.url ? parseSqsUrl(options.url) : {};
  const merged: SqsTransportOptions = { ...fromUrl, ...withoutUndefined(options) };
  const resolved: ResolvedSqsOptions = {
    endpoint: merged.endpoint,
    region: merged.region,
    queueNamePrefix: merged.queueNamePrefix ?? '',
    fifo: merged.fifo ?? false,
    visibilityTimeoutMs: merged.visibilityTimeoutMs ?? 300_000,
    waitTimeSeconds: merged.waitTimeSeconds ?? 20,
    connectTimeoutMs: merged.connectTimeoutMs ?? 5000,
    requestTimeoutMs: merged.requestTimeoutMs ?? (merged.waitTimeSeconds ?? 20) * 1000 + 10_000,
    base64Encoding: merged.base64Encoding ?? true,
    redriveMaxReceiveCount: merged.redriveMaxReceiveCount,
    maxNativeDelayMs: merged.maxNativeDelayMs ?? SQS_MAX_DELAY_MS,
    // The files a URL names, then `tls` over them.
    tls: fromUrl.tls || options.tls ? { ...fromUrl.tls, ...options.tls } : undefined,
    client: merged.client ?? {},
  };
  if (resolved.endpoint !== undefined) {
    try {
      const parsed = new URL(resolved.endpoint);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new InvalidOptionError(
        'endpoint',
        `must be an http:// or https:// URL, got "${resolved.endpoint}"`,
      );
    }
  }
  if (options.tls !== undefined) checkTlsOptions('tls', options.tls);
  if (resolved.tls !== undefined && resolved.endpoint?.startsWith('http:'))
    throw new InvalidOptionError('tls', 'needs an https endpoint (sqs+https://host:port), not http://');
  if (typeof resolved.queueNamePrefix !== 'string')
    throw new InvalidOptionError('queueNamePrefix', 'must be a string');
  if (typeof resolved.fifo !== 'boolean') throw new InvalidOptionError('fifo', 'must be true or false');
  if (typeof resolved.base64Encoding !== 'boolean')
    throw new InvalidOptionError('base64Encoding', 'must be true or false');
  const v = resolved.visibilityTimeoutMs;
  if (!(Number.isFinite(v) && v > 0 && v <= SQS_MAX_VISIBILITY_MS))
    throw new InvalidOptionError(
      'visibilityTimeoutMs',
      `must be a number of ms from 1 to ${SQS_MAX_VISIBILITY_MS} (12 h)`,
    );
  const w = resolved.waitTimeSeconds;
  if (!(Number.isInteger(w) && w >= 0 && w <= 20))
    throw new InvalidOptionError('waitTimeSeconds', 'must be an integer from 0 to 20');
  const c = resolved.connectTimeoutMs;
  if (!(Number.isFinite(c) && c > 0))
    throw new InvalidOptionError('connectTimeoutMs', 'must be a positive number of ms');
  const q = resolved.requestTimeoutMs;
  const shortest = w * 1000 + REQUEST_TIMEOUT_MARGIN_MS;
  if (!(Number.isFinite(q) && q >= shortest))
    throw new InvalidOptionError(
      'requestTimeoutMs',
      `must be a number of ms of at least ${shortest}: the long-poll wait (waitTimeSeconds ${w}) plus ${REQUEST_TIMEOUT_MARGIN_MS} ms, or every idle receive would time out`,
    );
  const r = resolved.redriveMaxReceiveCount;
  if (r !== undefined && !(Number.isInteger(r) && r >= 1 && r <= 1000))
    throw new InvalidOptionError('redriveMaxReceiveCount', 'must be an integer from 1 to 1000');
  const d = resolved.maxNativeDelayMs;
  if (!(Number.isInteger(d) && d >= 1000 && d <= SQS_MAX_DELAY_MS && d % 1000 === 0))
    throw new InvalidOptionError(
      'maxNativeDelayMs',
      `must be a whole number of seconds in ms, 1000 to ${SQS_MAX_DELAY_MS}`,
    );
  if (typeof resolved.client !== 'object' || resolved.client === null)
    throw new InvalidOptionError('client', 'must be an SQSClient configuration object');
  // console.log(transport) and JSON loggers must not print credentials given in `client`.
  return printedWithoutSecrets(resolved);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Parses the URL forms Conveyor accepts for SQS: `sqs://` (AWS itself), `sqs://host:port` (plain
 * http, for ElasticMQ and LocalStack) and `sqs+https://host:port`. kombu's `sqs://key:secret@`
 * credentials are refused: credentials come from the AWS provider chain, never from a URL.
 */
export function parseSqsUrl(url: string): SqsTransportOptions {
  const match = /^(sqs|sqs\+https):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url);
  if (!match) throw new InvalidBrokerUrlError(url, 'expected sqs://[host:port] or sqs+https://host:port');
  const [, scheme = '', authority = '', , query = ''] = match;
  if (authority.includes('@'))
    throw new InvalidBrokerUrlError(
      url,
      'credentials in the URL are not accepted; use the AWS provider chain (AWS_ACCESS_KEY_ID, a profile, a role)',
    );
  const out: SqsTransportOptions = {};
  if (authority !== '') {
    if (!/^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/i.test(authority))
      throw new InvalidBrokerUrlError(url, `bad host "${authority}"`);
    out.endpoint = `${scheme.toLowerCase() === 'sqs+https' ? 'https' : 'http'}://${authority}`;
  } else if (scheme.toLowerCase() === 'sqs+https') {
    throw new InvalidBrokerUrlError(url, 'sqs+https:// needs a host:port; use sqs:// for AWS itself');
  }
  const parameters = new URLSearchParams(query);
  for (const [key, value] of parameters) {
    if (isTlsUrlParameter(key)) {
      if (out.endpoint?.startsWith('http:'))
        throw new InvalidOptionError(key, 'needs an sqs+https:// URL (sqs://host:port is plain http)');
    } else if (key === 'region') out.region = value;
    else if (key === 'queueNamePrefix') out.queueNamePrefix = value;
    else if (key === 'visibilityTimeoutMs') out.visibilityTimeoutMs = Number(value);
    else if (key === 'waitTimeSeconds') out.waitTimeSeconds = Number(value);
    else if (key === 'fifo') out.fifo = value === 'true' || value === '1';
    else throw new InvalidOptionError(key, 'unknown sqs:// URL parameter');
  }
  const tls = tlsFromUrlParameters(parameters);
  if (tls) out.tls = tls;
  return out;
}
