import { readFileSync } from 'node:fs';
import type { RedisConnection } from './connection.js';

/** The Lua scripts, `<name>-<number of keys>.lua` in ./scripts (BullMQ's naming). */
export const SCRIPT_FILES = [
  'take-10.lua',
  'settle-9.lua',
  'delay-1.lua',
  'release-5.lua',
  'storeResult-1.lua',
] as const;

type ScriptName = 'take' | 'settle' | 'delay' | 'release' | 'storeResult';

/**
 * Calls a named script: EVALSHA, loading it on first use (ioredis `defineCommand`). With
 * `replies: 'bytes'` every string in the reply is a Buffer holding exactly what Redis stored:
 * payloads may be any bytes (another producer's garbage), and reading them as UTF-8 text would
 * replace what is not UTF-8 for good.
 */
export type ScriptCaller = (
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
  replies?: 'text' | 'bytes',
) => Promise<unknown>;

const sources = new Map<string, { name: ScriptName; numberOfKeys: number; lua: string }>();
for (const file of SCRIPT_FILES) {
  const [name, keys] = file.replace('.lua', '').split('-') as [ScriptName, string];
  sources.set(name, {
    name,
    numberOfKeys: Number(keys),
    lua: readFileSync(new URL(`./scripts/${file}`, import.meta.url), 'utf8'),
  });
}

/** Registers every script on a connection and returns a typed caller. */
export function loadScripts(connection: RedisConnection): ScriptCaller {
  for (const script of sources.values()) {
    connection.defineCommand(`cvy_${script.name}`, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
  const commands = connection as unknown as Record<
    string,
    (...args: (string | number)[]) => Promise<unknown>
  >;
  return (name, keys, args, replies = 'text') => {
    const expected = sources.get(name)!.numberOfKeys;
    if (keys.length !== expected)
      throw new Error(`script ${name} takes ${expected} keys, got ${keys.length}`);
    // defineCommand also defines `<name>Buffer`, the same script with replies left as bytes.
    return commands[`cvy_${name}${replies === 'bytes' ? 'Buffer' : ''}`]!(...keys, ...args);
  };
}
