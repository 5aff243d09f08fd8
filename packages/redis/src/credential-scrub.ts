/** Commands whose arguments carry credentials: `AUTH [user] password`, `HELLO 3 AUTH user password`. */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello']);

/**
 * Blanks the arguments of a failed AUTH or HELLO in an ioredis error and in its causes. ioredis
 * attaches the command to a ReplyError (`error.command.args`), so printing a refused login
 * (`console.error`, `util.inspect`, a logger that serialises errors) would print the password.
 * Returns the same error.
 */
export function scrubCredentials<T>(error: T): T {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const command = (current as { command?: { name?: unknown; args?: unknown } }).command;
    if (
      typeof command === 'object' &&
      command !== null &&
      typeof command.name === 'string' &&
      CREDENTIAL_COMMANDS.has(command.name.toLowerCase()) &&
      Array.isArray(command.args)
    ) {
      command.args = command.args.map(() => '***');
    }
    current = (current as { cause?: unknown }).cause;
  }
  return error;
}
