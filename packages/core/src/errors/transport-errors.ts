import { ConveyorError, type ConveyorErrorOptions } from './conveyor-error.js';

/**
 * A feature the transport does not claim in its capabilities was used. Conveyor never ignores an
 * option silently: a priority on a transport without priorities is an error, not a no-op.
 */
export class UnsupportedFeatureError extends ConveyorError {
  /** The capability that is missing, e.g. `priority` or `delay`. */
  readonly feature: string;
  constructor(feature: string, detail: string, options: ConveyorErrorOptions = {}) {
    const who = options.transport ? `transport "${options.transport}"` : 'this transport';
    super('UNSUPPORTED_FEATURE', `${who} does not support ${feature}: ${detail}`, options);
    this.feature = feature;
  }
}

/** An option has a wrong value. Thrown at construction, naming the option. */
export class InvalidOptionError extends ConveyorError {
  /** Dotted path of the option, e.g. `concurrency` or `retry.maxRetries`. */
  readonly option: string;
  constructor(option: string, problem: string, options: ConveyorErrorOptions = {}) {
    super('INVALID_OPTION', `invalid option "${option}": ${problem}`, options);
    this.option = option;
  }
}

/** The transport (or the delivery's connection) was closed; nothing more can go through it. */
export class TransportClosedError extends ConveyorError {
  constructor(what: string, options: ConveyorErrorOptions = {}) {
    super('TRANSPORT_CLOSED', `${what}: the transport is closed`, options);
  }
}

/** The broker cannot be reached, or the connection dropped. Retryable by nature. */
export class BrokerConnectionError extends ConveyorError {
  constructor(message: string, options: ConveyorErrorOptions = {}) {
    super('CONNECTION_FAILED', message, { retryable: true, ...options });
  }
}

/**
 * The broker refused the credentials (a wrong password, an unknown user, a failed SASL exchange).
 * Not retryable: the same credentials will be refused again. Messages name the user at most, never
 * the password.
 */
export class BrokerAuthenticationError extends ConveyorError {
  constructor(message: string, options: ConveyorErrorOptions = {}) {
    super('AUTHENTICATION_FAILED', message, { retryable: false, ...options });
  }
}

/** The broker refused or failed an operation (not a connection problem). */
export class BrokerError extends ConveyorError {
  constructor(message: string, options: ConveyorErrorOptions = {}) {
    super('BROKER_ERROR', message, options);
  }
}

/** A broker URL names a transport package that is not installed. */
export class TransportNotInstalledError extends ConveyorError {
  /** The npm package to install. */
  readonly packageName: string;
  constructor(scheme: string, packageName: string, options: ConveyorErrorOptions = {}) {
    super(
      'TRANSPORT_NOT_INSTALLED',
      `the "${scheme}" transport lives in the package ${packageName}, which is not installed: run \`npm install ${packageName}\` (or pnpm add / yarn add)`,
      options,
    );
    this.packageName = packageName;
  }
}

/** A broker URL that cannot be parsed or has an unknown scheme. */
export class InvalidBrokerUrlError extends ConveyorError {
  constructor(url: string, problem: string) {
    super('INVALID_BROKER_URL', `invalid broker URL "${redactUrl(url)}": ${problem}`);
  }
}

/**
 * Hides the password of every URL in a text so that it never reaches a log: everything from the
 * user name's colon to the last "@" of the URL, so that a password holding an unencoded "/" or "@"
 * is hidden whole, not up to its first "/".
 */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@\s]*:)\S*@/g, '$1***@');
}

/**
 * True when the user name or password of a URL holds a character it must URL-encode ("/", "?",
 * "#", "@", or a "%" that starts no escape): the URL is then ambiguous, a parser would read part of
 * the password as host or path, and its errors would quote it. Transports refuse such a URL first.
 */
export function hasUnencodedCredentials(url: string): boolean {
  const start = url.indexOf('//');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return false;
  return /[/?#@]|%(?![0-9A-Fa-f]{2})/.test(url.slice(start + 2, at));
}
