/**
 * Certificate checks that failed on this side: the broker's certificate is not trusted. Retrying
 * will not help; trusting the right CA will.
 */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
]);

/** Alerts a broker sends when it turns down our client certificate. */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);

/** Where a transport takes its TLS settings, for messages that say what to change. */
export interface TlsOptionNames {
  /** The option that holds the CA, e.g. `tls.ca` (`ssl.ca` for Kafka). */
  ca: string;
  /** The options of a client certificate, e.g. `tls.cert and tls.key`. */
  clientCertificate: string;
}

/**
 * Why a connection failed, in words a user can act on, when `error` (or one of its causes) is a
 * TLS failure; undefined for anything else. A transport puts it in its BrokerConnectionError and
 * marks that error not retryable: the same certificates fail the same way again. Never includes
 * certificate or key material, only Node's error code.
 */
export function describeTlsFailure(error: unknown, names: TlsOptionNames): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (UNTRUSTED.has(code))
      return `TLS: the broker's certificate is not trusted (${code}); give its CA with ${names.ca} or the tlsCa URL parameter`;
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
      return `TLS: the broker's certificate is outside its validity period (${code})`;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
      return `TLS: the broker's certificate does not name the host connected to (${code})`;
    if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
      return `TLS: the broker requires a client certificate (${code}); give one with ${names.clientCertificate}, or the tlsCert and tlsKey URL parameters`;
    if (CLIENT_CERT_REFUSED.has(code)) return `TLS: the broker refused the client certificate (${code})`;
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')
      return `TLS: the port does not speak TLS (${code})`;
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return `TLS handshake failed (${code})`;
  }
  return undefined;
}
