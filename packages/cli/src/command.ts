import type { CommandDef } from './args.js';
import type { Io } from './output.js';

/** A `conveyor <name>` command. */
export interface Command {
  readonly def: CommandDef;
  /** Runs the command with the arguments after its name; resolves with the exit code. */
  run(argv: readonly string[], io: Io): Promise<number>;
}
