import { type CommandDef, formatHelp, type OptionDef, type OptionValues, parseCommand } from './args.js';
import type { Io } from './output.js';

/** A `conveyor <name>` command. */
export interface Command {
  readonly def: CommandDef;
  /** Runs the command with the arguments after its name; resolves with the exit code. */
  run(argv: readonly string[], io: Io): Promise<number>;
}

/** What a command's body receives: its parsed options and positionals. */
export interface CommandInput<Options extends Record<string, OptionDef>> {
  values: OptionValues<Options>;
  positionals: string[];
}

/**
 * A command whose `-h`/`--help` is answered here, before anything is validated, so every
 * command's body starts from parsed arguments.
 */
export function defineCommand<Options extends Record<string, OptionDef>>(
  def: CommandDef<Options>,
  body: (input: CommandInput<Options>, io: Io) => Promise<number>,
): Command {
  return {
    def,
    async run(argv, io) {
      const { help, values, positionals } = parseCommand(def, argv);
      if (help) {
        io.out(formatHelp(def));
        return 0;
      }
      return body({ values, positionals }, io);
    },
  };
}
