import type { Redis } from 'ioredis';

/**
 * Settles one entry, atomically, if and only if it is still pending for this consumer. The check
 * matters: after the visibility timeout another consumer may have claimed the entry (XAUTOCLAIM),
 * and a plain XACK would then ack a message someone else is working on. Requeueing writes the
 * payload again at the end of the stream with its delivery count, then removes the old entry.
 *
 * KEYS[1] the stream; ARGV group, consumer, entry id, and '' to remove the entry or the number of
 * deliveries so far to requeue it. Returns 1 when settled, 0 when the consumer no longer held it.
 */
const SETTLE_LUA = `
local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #held == 0 then return 0 end
if ARGV[4] ~= '' then
  local entry = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])[1]
  if entry then
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'payload' then
        redis.call('XADD', KEYS[1], '*', 'payload', fields[i + 1], 'deliveries', ARGV[4])
      end
    end
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return 1
`;

/** A connection that has the settle script as a command (EVALSHA, falling back to EVAL). */
export interface SettleCommand {
  settleEntry(
    stream: string,
    group: string,
    consumer: string,
    id: string,
    requeueWith: string,
  ): Promise<number>;
}

/** Adds `settleEntry` to a connection. */
export function withSettleScript(connection: Redis): Redis & SettleCommand {
  connection.defineCommand('settleEntry', { numberOfKeys: 1, lua: SETTLE_LUA });
  return connection as Redis & SettleCommand;
}
