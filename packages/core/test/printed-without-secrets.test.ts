import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { printedWithoutSecrets } from '../src/transport-authors.js';

describe('printedWithoutSecrets', () => {
  it('prints (inspect, JSON) options without their secrets, leaving the values readable', () => {
    const options = printedWithoutSecrets({
      url: 'amqp://user:s3cret@host:5672',
      password: 's3cret',
      tls: { key: Buffer.from('PRIVATE KEY s3cret'), ca: 'CA' },
      sasl: { mechanism: 'plain', username: 'user', password: 's3cret' },
      client: { credentials: { accessKeyId: 'AKIA', secretAccessKey: 's3cret' } },
      port: 5672,
    });
    for (const printed of [inspect(options, { depth: 10 }), JSON.stringify(options), inspect({ options })]) {
      expect(printed).not.toContain('s3cret');
      expect(printed).toContain('user:***@host');
      expect(printed).toContain('AKIA');
    }
    expect(options.password).toBe('s3cret');
    expect(options.url).toBe('amqp://user:s3cret@host:5672');
    expect({ ...options }.sasl.password).toBe('s3cret');
  });
});
