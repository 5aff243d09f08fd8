/**
 * Command-line parsing on node:util parseArgs, with the CLI's own error messages (one line and a
 * hint) and generated help.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** One option of a command. */
export interface OptionDef {
  readonly type: 'string' | 'boolean';
  /** One-letter alias, e.g. `b` for `-b`. */
  readonly short?: string;
  /** May be repeated; the value is the list of every occurrence. */
  readonly multiple?: boolean;
  /** Placeholder for the value in the help, e.g. `URL`. */
  readonly placeholder?: string;
  readonly description: string;
}

/** A positional argument of a command. */
export interface PositionalDef {
  readonly name: string;
  readonly description: string;
}

/** Everything the parser and the help need to know about a command. */
export interface CommandDef<Options extends Record<string, OptionDef> = Record<string, OptionDef>> {
  readonly name: string;
  /** One line, shown in `conveyor --help`. */
  readonly summary: string;
  /** Usage lines without the leading `Usage: `. */
  readonly usage: readonly string[];
  /** A paragraph or two under the usage. */
  readonly description?: string;
  readonly positionals?: readonly PositionalDef[];
  readonly options: Options;
  readonly examples?: readonly string[];
}

type ValueOf<D extends OptionDef> = D['type'] extends 'boolean'
  ? boolean
  : D['multiple'] extends true
    ? string[]
    : string | undefined;

/** Parsed option values, typed from the command's definition. */
export type OptionValues<Options extends Record<string, OptionDef>> = {
  -readonly [K in keyof Options]: ValueOf<Options[K]>;
};

/** Result of parsing a command's arguments. */
export interface ParsedCommand<Options extends Record<string, OptionDef>> {
  /** `-h` or `--help` was given: show the help and ignore everything else. */
  help: boolean;
  values: OptionValues<Options>;
  positionals: string[];
}

/** The hint printed under a usage error. */
export function usageHint(command?: string): string {
  return command ? `Run "conveyor ${command} --help" for usage.` : 'Run "conveyor --help" for usage.';
}

/**
 * Parses a command's arguments. Unknown options, missing values and surplus positionals become
 * UsageError naming the option; `--help` wins over any other mistake.
 */
export function parseCommand<Options extends Record<string, OptionDef>>(
  def: CommandDef<Options>,
  argv: readonly string[],
): ParsedCommand<Options> {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, option] of Object.entries(def.options)) {
    config[name] = {
      type: option.type,
      ...(option.short ? { short: option.short } : {}),
      ...(option.multiple ? { multiple: true } : {}),
    };
  }
  let tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>;
  try {
    ({ tokens } = parseArgs({
      args: [...argv],
      options: config,
      strict: false,
      allowPositionals: true,
      tokens: true,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), usageHint(def.name));
  }
  const hint = usageHint(def.name);
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) {
    return { help: true, values: {} as OptionValues<Options>, positionals: [] };
  }

  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (const [name, option] of Object.entries(def.options)) {
    values[name] = option.type === 'boolean' ? false : option.multiple ? [] : undefined;
  }
  const positionals: string[] = [];
  const maxPositionals = def.positionals?.length ?? 0;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (positionals.length >= maxPositionals) {
        const what =
          maxPositionals === 0 ? `"conveyor ${def.name}" takes no arguments` : 'too many arguments';
        throw new UsageError(`unexpected argument "${token.value}": ${what}`, hint);
      }
      positionals.push(token.value);
      continue;
    }
    const option = def.options[token.name];
    if (!option) {
      const names = Object.keys(def.options).map((n) => `--${n}`);
      const guess = closest(token.rawName.startsWith('--') ? token.rawName : `--${token.name}`, [
        ...names,
        '--help',
      ]);
      throw new UsageError(
        `unknown option ${token.rawName} for "conveyor ${def.name}"${guess ? ` (did you mean ${guess}?)` : ''}`,
        hint,
      );
    }
    const label = `--${token.name}`;
    if (option.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`option ${label} takes no value`, hint);
      values[token.name] = true;
      continue;
    }
    const value = token.value;
    const looksLikeOption = value !== undefined && !token.inlineValue && /^-[^\d.]/.test(value);
    if (value === undefined || looksLikeOption) {
      throw new UsageError(`option ${label} needs a value: ${label} ${option.placeholder ?? 'VALUE'}`, hint);
    }
    if (option.multiple) (values[token.name] as string[]).push(value);
    else values[token.name] = value;
  }
  return { help: false, values: values as OptionValues<Options>, positionals };
}

/** A required option's value, or a UsageError naming it. */
export function required(
  command: string,
  option: string,
  value: string | undefined,
  alternative = '',
): string {
  if (value === undefined || value.trim() === '') {
    throw new UsageError(`missing required option --${option}${alternative}`, usageHint(command));
  }
  return value;
}

/** An integer option within bounds, or a UsageError naming the option. */
export function integerOption(
  command: string,
  option: string,
  raw: string | undefined,
  bounds: { min: number; max?: number },
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw.trim());
  const inRange = value >= bounds.min && (bounds.max === undefined || value <= bounds.max);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || !inRange) {
    const range = bounds.max === undefined ? `>= ${bounds.min}` : `from ${bounds.min} to ${bounds.max}`;
    throw new UsageError(`--${option} must be an integer ${range}, got "${raw}"`, usageHint(command));
  }
  return value;
}

/** One of the option's allowed values, or a UsageError naming the option and listing them. */
export function choiceOption<const Choice extends string>(
  command: string,
  option: string,
  raw: string | undefined,
  choices: readonly Choice[],
): Choice | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(
      `--${option} must be one of ${choices.join(', ')}; got "${raw}"`,
      usageHint(command),
    );
  }
  return value as Choice;
}

/** A JSON option of the expected shape, or a UsageError naming the option and the JSON problem. */
export function jsonOption(command: string, option: string, raw: string, shape: 'array'): unknown[];
export function jsonOption(
  command: string,
  option: string,
  raw: string,
  shape: 'object',
): Record<string, unknown>;
export function jsonOption(
  command: string,
  option: string,
  raw: string,
  shape: 'array' | 'object',
): unknown[] | Record<string, unknown> {
  const example = shape === 'array' ? `--${option} '[1, "two"]'` : `--${option} '{"key": "value"}'`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      `--${option} is not valid JSON (${detail}); expected a JSON ${shape}, e.g. ${example}`,
      usageHint(command),
    );
  }
  const ok =
    shape === 'array'
      ? Array.isArray(parsed)
      : typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  if (!ok) {
    throw new UsageError(
      `--${option} must be a JSON ${shape}, e.g. ${example}; got ${raw}`,
      usageHint(command),
    );
  }
  return parsed as unknown[] | Record<string, unknown>;
}

/** Values of a repeatable option that may also be comma-separated: `-Q a,b -Q c`. */
export function listOption(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const item = part.trim();
      if (item !== '' && !out.includes(item)) out.push(item);
    }
  }
  return out;
}

/** The command's help text. */
export function formatHelp(def: CommandDef): string {
  const lines: string[] = [];
  def.usage.forEach((usage, index) => {
    lines.push(`${index === 0 ? 'Usage:' : '      '} ${usage}`);
  });
  lines.push('', def.description ?? `${def.summary[0]!.toUpperCase()}${def.summary.slice(1)}.`);
  if (def.positionals && def.positionals.length > 0) {
    lines.push('', 'Arguments:');
    for (const p of def.positionals) lines.push(`  ${p.name.padEnd(24)}${p.description}`);
  }
  lines.push('', 'Options:');
  const rows: [string, string][] = Object.entries(def.options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.type === 'string' ? ` ${option.placeholder ?? 'VALUE'}` : ''}`;
    return [flag, option.description];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(24, ...rows.map(([flag]) => flag.length + 2));
  for (const [flag, text] of rows) lines.push(`  ${flag.padEnd(width)}${text}`);
  if (def.examples && def.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const example of def.examples) lines.push(`  ${example}`);
  }
  return lines.join('\n');
}

/** The candidate closest to `input` (edit distance at most 2), for "did you mean" hints. */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
