import { brokerScheme, TRANSPORT_PACKAGES, type Transport, transportFromUrl } from '@conveyor/core';

/**
 * The broker packages the demo depends on, loaded only when their scheme is used. Core's
 * transportFromUrl looks for a broker package beside @conveyor/core and then in the current
 * directory; `bash tooling/scripts/dev.sh demo` runs from the repo root, where pnpm's strict layout
 * shows neither, so the demo imports the packages it declares from its own location.
 */
const OWN_BROKER_PACKAGES: Readonly<Record<string, () => Promise<BrokerPackage>>> = {
  '@conveyor/redis': () => import('@conveyor/redis'),
  '@conveyor/amqp': () => import('@conveyor/amqp'),
  '@conveyor/sqs': () => import('@conveyor/sqs'),
  '@conveyor/kafka': () => import('@conveyor/kafka'),
};

/** What a Conveyor broker package exports for URLs. */
interface BrokerPackage {
  createTransportFromUrl(url: string): Transport;
}

/** Opens (unconnected) the transport a broker URL names, from any directory. */
export async function openTransport(url: string): Promise<Transport> {
  const packageName = TRANSPORT_PACKAGES[brokerScheme(url)];
  const load = packageName === undefined ? undefined : OWN_BROKER_PACKAGES[packageName];
  if (load === undefined) return transportFromUrl(url);
  return (await load()).createTransportFromUrl(url);
}
