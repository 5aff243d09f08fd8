import { describe, expect, it } from 'vitest';
import { createTransportFromUrl, parseSqsUrl, SqsTransport } from '../src/index.js';

describe('URL forms', () => {
  it('sqs:// alone is AWS itself: no endpoint, region from the provider chain', () => {
    expect(parseSqsUrl('sqs://')).toEqual({});
    expect(parseSqsUrl('sqs://?region=eu-west-1')).toEqual({ region: 'eu-west-1' });
  });

  it('sqs://host:port is plain http (ElasticMQ), sqs+https://host:port is TLS', () => {
    expect(parseSqsUrl('sqs://127.0.0.1:9324')).toEqual({ endpoint: 'http://127.0.0.1:9324' });
    expect(parseSqsUrl('sqs+https://sqs.local:443')).toEqual({ endpoint: 'https://sqs.local:443' });
  });

  it('reads the query parameters', () => {
    expect(
      parseSqsUrl('sqs://h:1?queueNamePrefix=dev-&visibilityTimeoutMs=5000&waitTimeSeconds=2&fifo=true'),
    ).toEqual({
      endpoint: 'http://h:1',
      queueNamePrefix: 'dev-',
      visibilityTimeoutMs: 5000,
      waitTimeSeconds: 2,
      fifo: true,
    });
  });

  it('refuses credentials in the URL, an unknown parameter and sqs+https without a host', () => {
    expect(() => parseSqsUrl('sqs://key:secret@')).toThrow(/provider chain/);
    expect(() => parseSqsUrl('sqs://h:1?colour=red')).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => parseSqsUrl('sqs+https://')).toThrow(
      expect.objectContaining({ code: 'INVALID_BROKER_URL' }),
    );
    expect(() => parseSqsUrl('redis://h:1')).toThrow(expect.objectContaining({ code: 'INVALID_BROKER_URL' }));
  });

  it('createTransportFromUrl and fromUrl open an SqsTransport', () => {
    const transport = createTransportFromUrl('sqs://127.0.0.1:9324?fifo=1') as SqsTransport;
    expect(transport).toBeInstanceOf(SqsTransport);
    expect(transport.options.endpoint).toBe('http://127.0.0.1:9324');
    expect(transport.capabilities.ordering).toBe('key');
    expect(SqsTransport.fromUrl('sqs://').options.endpoint).toBeUndefined();
  });
});

describe('option validation names the option', () => {
  it.each([
    [{ visibilityTimeoutMs: 0 }, 'visibilityTimeoutMs'],
    [{ visibilityTimeoutMs: 43_200_001 }, 'visibilityTimeoutMs'],
    [{ waitTimeSeconds: 21 }, 'waitTimeSeconds'],
    [{ maxNativeDelayMs: 1500 }, 'maxNativeDelayMs'],
    [{ maxNativeDelayMs: 901_000 }, 'maxNativeDelayMs'],
    [{ redriveMaxReceiveCount: 0 }, 'redriveMaxReceiveCount'],
    [{ endpoint: 'ftp://x' }, 'endpoint'],
    [{ fifo: 'yes' }, 'fifo'],
    [{ colour: 'red' }, 'colour'],
  ])('%o is refused naming %s', (options, option) => {
    expect(() => new SqsTransport(options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining(option) }),
    );
  });

  it('rounds the visibility timeout up to whole seconds in the capabilities', () => {
    expect(new SqsTransport({ visibilityTimeoutMs: 1500 }).capabilities.redelivery.visibilityTimeoutMs).toBe(
      2000,
    );
  });
});
