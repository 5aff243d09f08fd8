/**
 * The message-signing flags: `conveyor send --sign-key FILE --sign-cert FILE` and
 * `conveyor worker --trust FILE`. Files are read and checked here, before any broker is opened,
 * so a wrong path or a wrong key stops the command at once with an error naming the flag.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type ClientSigningOptions,
  InvalidOptionError,
  MessageSigner,
  MessageVerifier,
  type WorkerSigningOptions,
} from '@conveyor/core';
import { listOption, type OptionDef, type OptionValues, usageHint } from './args.js';
import { UsageError } from './errors.js';
import type { Io } from './output.js';

/** Environment variable read when `--sign-key` is not given: a file path. */
export const SIGN_KEY_ENV = 'CONVEYOR_SIGN_KEY';
/** Environment variable read when `--sign-cert` is not given: a file path. */
export const SIGN_CERT_ENV = 'CONVEYOR_SIGN_CERT';
/** Environment variable read when no `--trust` is given: file paths, comma-separated. */
export const TRUST_ENV = 'CONVEYOR_TRUST';

/** The options of `conveyor send` that sign the task it sends. */
export const SIGN_OPTIONS = {
  'sign-key': {
    type: 'string',
    placeholder: 'FILE',
    description: `sign the task (Celery's auth format) with this RSA private key, PEM; needs --sign-cert (default: $${SIGN_KEY_ENV})`,
  },
  'sign-cert': {
    type: 'string',
    placeholder: 'FILE',
    description: `the X.509 certificate of --sign-key, PEM; workers must trust it (default: $${SIGN_CERT_ENV})`,
  },
  'sign-key-passphrase-env': {
    type: 'string',
    placeholder: 'VAR',
    description:
      'read the passphrase of an encrypted --sign-key from the environment variable VAR (a passphrase is never taken on the command line, where ps shows it)',
  },
  'bind-headers': {
    type: 'boolean',
    description:
      'also sign the headers that name the task (task name, id, workflow ids), so a signed body cannot be replayed under another name; Python Celery ignores it',
  },
} as const satisfies Record<string, OptionDef>;

/** The options of `conveyor worker` that decide whose signed tasks it runs. */
export const TRUST_OPTIONS = {
  trust: {
    type: 'string',
    multiple: true,
    placeholder: 'FILE',
    description:
      'run only tasks signed by a certificate in FILE (PEM; a file may hold several); repeat for more files. ' +
      `Everything else is dead-lettered with the reason (default: $${TRUST_ENV}, comma-separated)`,
  },
  'allow-unsigned': {
    type: 'boolean',
    description:
      'with --trust, run unsigned tasks too (during a migration); a bad signature is still refused',
  },
  'require-bound-headers': {
    type: 'boolean',
    description:
      'with --trust, refuse signed tasks whose headers are not signed too (sent with --bind-headers)',
  },
} as const satisfies Record<string, OptionDef>;

/**
 * The Client's signing options from `--sign-key`, `--sign-cert` (or their environment variables)
 * and `--sign-key-passphrase-env`; undefined when no key is given. Throws UsageError naming the
 * flag for a missing companion flag, an unreadable file or a key the signer refuses; messages
 * name files and variables, never their contents.
 */
export async function clientSigningFromFlags(
  command: string,
  values: OptionValues<typeof SIGN_OPTIONS>,
  io: Io,
): Promise<ClientSigningOptions | undefined> {
  const hint = usageHint(command);
  const key = flagOrEnv('--sign-key', values['sign-key'], SIGN_KEY_ENV, io);
  const certificate = flagOrEnv('--sign-cert', values['sign-cert'], SIGN_CERT_ENV, io);
  if (key === undefined) {
    if (certificate !== undefined) {
      throw new UsageError(
        `${certificate.label} needs --sign-key FILE (the certificate's private key)`,
        hint,
      );
    }
    for (const flag of ['sign-key-passphrase-env', 'bind-headers'] as const) {
      if (values[flag] !== undefined && values[flag] !== false) {
        throw new UsageError(`--${flag} only applies with --sign-key FILE`, hint);
      }
    }
    return undefined;
  }
  if (certificate === undefined) {
    throw new UsageError(`${key.label} needs --sign-cert FILE (the key's certificate)`, hint);
  }
  const keyPem = await readPemFile(key, io);
  const options: ClientSigningOptions = { key: keyPem, certificate: await readPemFile(certificate, io) };
  const passphraseVariable = values['sign-key-passphrase-env'];
  if (passphraseVariable !== undefined) {
    const passphrase = io.env[passphraseVariable];
    if (passphrase === undefined || passphrase === '') {
      throw new UsageError(
        `--sign-key-passphrase-env: the environment variable ${passphraseVariable} is not set or empty`,
        hint,
      );
    }
    options.passphrase = passphrase;
  } else if (isEncryptedPem(keyPem)) {
    // Without this, OpenSSL reports only "interrupted or cancelled" (it wanted to prompt).
    throw new UsageError(
      `${key.label}: the key is encrypted; give its passphrase in an environment variable named by --sign-key-passphrase-env VAR`,
      hint,
    );
  }
  if (values['bind-headers']) options.bindHeaders = true;
  try {
    new MessageSigner(options);
  } catch (error) {
    throw asFlagError(error, (option) => {
      if (option === 'signing.certificate') return certificate.label;
      if (option !== 'signing.key') return undefined;
      return passphraseVariable === undefined
        ? key.label
        : `${key.label} (passphrase from $${passphraseVariable})`;
    });
  }
  return options;
}

/** A Worker's signing options from the trust flags, and the signer ids they trust (for the log). */
export interface WorkerSigningFlags {
  options: WorkerSigningOptions;
  /** Celery key ids (issuer and serial) whose signatures the worker accepts. */
  trustedSigners: string[];
}

/**
 * The Worker's signing options from `--trust` (or $CONVEYOR_TRUST), `--allow-unsigned` and
 * `--require-bound-headers`; undefined when nothing is trusted. Throws UsageError naming the flag
 * and the file for an unreadable file or a certificate the verifier refuses (not PEM, not RSA,
 * expired, listed twice).
 */
export async function workerSigningFromFlags(
  command: string,
  values: OptionValues<typeof TRUST_OPTIONS>,
  io: Io,
): Promise<WorkerSigningFlags | undefined> {
  if (values.trust.some((path) => path.trim() === '')) {
    throw new UsageError('--trust must not be empty', usageHint(command));
  }
  const fromEnv = values.trust.length === 0 ? io.env[TRUST_ENV] : undefined;
  const files: FlagValue[] =
    fromEnv === undefined
      ? values.trust.map((path) => ({ path, label: `--trust ${path}` }))
      : listOption([fromEnv]).map((path) => ({
          path,
          label: `--trust ($${TRUST_ENV}) ${path}`,
        }));
  if (files.length === 0) {
    for (const flag of ['allow-unsigned', 'require-bound-headers'] as const) {
      if (values[flag]) throw new UsageError(`--${flag} only applies with --trust FILE`, usageHint(command));
    }
    return undefined;
  }
  const trusted: Buffer[] = [];
  for (const file of files) trusted.push(await readPemFile(file, io));
  const options: WorkerSigningOptions = { trusted };
  if (values['allow-unsigned']) options.require = false;
  if (values['require-bound-headers']) options.requireBoundHeaders = true;
  let verifier: MessageVerifier;
  try {
    verifier = new MessageVerifier(options);
  } catch (error) {
    throw asFlagError(error, (option) => {
      const index = /^signing\.trusted\[(\d+)\]$/.exec(option)?.[1];
      return index === undefined ? undefined : files[Number(index)]?.label;
    });
  }
  return { options, trustedSigners: verifier.trustedSigners };
}

/** PKCS#8 (`ENCRYPTED PRIVATE KEY`) or legacy OpenSSL (`Proc-Type: 4,ENCRYPTED`) encryption. */
function isEncryptedPem(pem: Buffer): boolean {
  const text = pem.toString('latin1');
  return text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /^Proc-Type: 4,ENCRYPTED/m.test(text);
}

/** A file flag's value and how errors name it, e.g. `--sign-key ($CONVEYOR_SIGN_KEY) key.pem`. */
interface FlagValue {
  path: string;
  label: string;
}

function flagOrEnv(flag: string, value: string | undefined, variable: string, io: Io): FlagValue | undefined {
  if (value !== undefined) {
    if (value.trim() === '') throw new UsageError(`${flag} must not be empty`);
    return { path: value, label: `${flag} ${value}` };
  }
  const fromEnv = io.env[variable];
  if (fromEnv === undefined || fromEnv.trim() === '') return undefined;
  return { path: fromEnv, label: `${flag} ($${variable}) ${fromEnv}` };
}

/** The file's bytes, or a UsageError naming the flag and why it cannot be read (never its contents). */
async function readPemFile(file: FlagValue, io: Io): Promise<Buffer> {
  try {
    return await readFile(resolve(io.cwd, file.path));
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a PEM file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${typeof code === 'string' ? code : 'unknown error'})`;
    throw new UsageError(`${file.label}: ${why}`);
  }
}

/**
 * core's InvalidOptionError (which names `signing.key`, `signing.trusted[2]`, ...) as a UsageError
 * naming the flag and file the option came from; anything else unchanged.
 */
function asFlagError(error: unknown, labelOf: (option: string) => string | undefined): unknown {
  if (!(error instanceof InvalidOptionError)) return error;
  const label = labelOf(error.option);
  if (label === undefined) return error;
  const problem = error.message
    .replace(`invalid option "${error.option}": `, '')
    .replaceAll('signing.certificate', '--sign-cert')
    .replaceAll('signing.key', '--sign-key');
  return new UsageError(`${label}: ${problem}`);
}
