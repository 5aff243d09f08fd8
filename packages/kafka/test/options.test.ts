import { describe, expect, it } from 'vitest';
import { createTransportFromUrl, KafkaTransport, kafkaTopicName, parseKafkaUrl } from '../src/index.js';

describe('URL forms', () => {
  it('kafka://host:port[,host:port] names the bootstrap brokers; a missing port is 9092', () => {
    expect(parseKafkaUrl('kafka://127.0.0.1:9092')).toEqual({ brokers: ['127.0.0.1:9092'] });
    expect(parseKafkaUrl('kafka://a:1,b,c:3')).toEqual({ brokers: ['a:1', 'b:9092', 'c:3'] });
  });

  it('kafka+ssl:// turns TLS on; user:password@ turns SASL on (scram-sha-512 unless ?mechanism=)', () => {
    expect(parseKafkaUrl('kafka+ssl://k:9093')).toEqual({ brokers: ['k:9093'], ssl: true });
    expect(parseKafkaUrl('kafka+ssl://app:p%40ss@k:9093?mechanism=plain')).toEqual({
      brokers: ['k:9093'],
      ssl: true,
      sasl: { mechanism: 'plain', username: 'app', password: 'p@ss' },
    });
    expect(parseKafkaUrl('kafka://app:pw@k:9092').sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'app',
      password: 'pw',
    });
  });

  it('reads the query parameters', () => {
    expect(
      parseKafkaUrl(
        'kafka://h:1?partitions=6&replicationFactor=3&createTopics=false&clientId=billing&compression=gzip&sessionTimeoutMs=20000&commitIntervalMs=50',
      ),
    ).toEqual({
      brokers: ['h:1'],
      partitions: 6,
      replicationFactor: 3,
      createTopics: false,
      clientId: 'billing',
      compression: 'gzip',
      sessionTimeoutMs: 20000,
      commitIntervalMs: 50,
    });
  });

  it('addressMap maps advertised addresses, * every one', () => {
    expect(parseKafkaUrl('kafka://h:1?addressMap=*=127.0.0.1:4000').addressMap).toEqual({
      '*': '127.0.0.1:4000',
    });
    expect(
      new KafkaTransport('kafka://h:1?addressMap=10.0.0.5:9092=127.0.0.1:19092').options.addressMap,
    ).toEqual({
      '10.0.0.5:9092': '127.0.0.1:19092',
    });
    expect(() => parseKafkaUrl('kafka://h:1?addressMap=nowhere')).toThrow(
      expect.objectContaining({ option: 'addressMap' }),
    );
  });

  it('refuses an unknown parameter or mechanism and another scheme, without repeating the password', () => {
    expect(() => parseKafkaUrl('kafka://h:1?colour=red')).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', option: 'colour' }),
    );
    expect(() => parseKafkaUrl('kafka://u:pw@h:1?mechanism=md5')).toThrow(
      expect.objectContaining({ option: 'mechanism' }),
    );
    let error: unknown;
    try {
      parseKafkaUrl('redis://u:hunter2@h:1');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_BROKER_URL' });
    expect(String((error as Error).message)).not.toContain('hunter2');
  });

  it('createTransportFromUrl and fromUrl open a KafkaTransport with the URL applied', () => {
    const transport = createTransportFromUrl('kafka://10.0.0.1:9092?partitions=12') as KafkaTransport;
    expect(transport).toBeInstanceOf(KafkaTransport);
    expect(transport.options.brokers).toEqual(['10.0.0.1:9092']);
    expect(transport.options.partitions).toBe(12);
    expect(KafkaTransport.fromUrl('kafka://h:2').options.brokers).toEqual(['h:2']);
  });
});

describe('options', () => {
  it('fills in the defaults', () => {
    const { options } = new KafkaTransport();
    expect(options).toMatchObject({
      brokers: ['127.0.0.1:9092'],
      clientId: 'conveyor',
      partitions: 3,
      replicationFactor: -1,
      createTopics: true,
      compression: 'none',
      commitIntervalMs: 20,
      sessionTimeoutMs: 10_000,
      delayTopicPrefix: 'conveyor.delay',
      delayForwarder: true,
      deliveryCounts: 'after-handout',
    });
  });

  it.each([
    [{ partitions: 0 }, 'partitions'],
    [{ partitions: 1.5 }, 'partitions'],
    [{ replicationFactor: 0 }, 'replicationFactor'],
    [{ brokers: [] }, 'brokers'],
    [{ brokers: ['no-port'] }, 'brokers'],
    [{ compression: 'snappy' }, 'compression'],
    [{ sessionTimeoutMs: 10 }, 'sessionTimeoutMs'],
    [{ commitIntervalMs: -1 }, 'commitIntervalMs'],
    [{ createTopics: 'yes' }, 'createTopics'],
    [{ addressMap: { 'a:1': 'nowhere' } }, 'addressMap'],
    [{ delayTopicPrefix: 'no spaces' }, 'delayTopicPrefix'],
    [{ sasl: { mechanism: 'plain', username: 'u' } }, 'sasl'],
    [{ deliveryCounts: 'never' }, 'deliveryCounts'],
    [{ colour: 'red' }, 'colour'],
  ])('%o fails at construction naming %s', (bad, option) => {
    expect(() => new KafkaTransport(bad as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', option }),
    );
  });
});

describe('topic names (kombu: the queue name without @)', () => {
  it('removes @ and keeps what Kafka allows', () => {
    expect(kafkaTopicName('celery')).toBe('celery');
    expect(kafkaTopicName('worker@host.example')).toBe('workerhost.example');
    expect(kafkaTopicName('a.b_c-d')).toBe('a.b_c-d');
  });

  it('refuses what Kafka would refuse, naming the queue', () => {
    expect(() => kafkaTopicName('has space')).toThrow(/has space/);
    expect(() => kafkaTopicName('@')).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => kafkaTopicName('x'.repeat(250))).toThrow(/249/);
  });
});
