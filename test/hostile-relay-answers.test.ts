import { isLiaisonError } from '@liaison/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { type RelayFront, startRelayFront } from './harness/relay-front.js';

const MB = 1024 * 1024;
const FOUND = 'th-oag.alice vn-spp.bob';
const DIRECTORY_PATH = /^\/v1\/directory(\?|$)/;

/**
 * A relay that pads its JSON answers: JSON may hold any amount of whitespace, so a padded answer
 * still parses to a valid one, and an SDK that reads answers whole can be made to hold any amount
 * of memory by a relay it does not trust. Read as it arrives, an answer is refused past 4 MiB.
 */
describe('the SDK against a relay that pads its answers', () => {
  let relay: TestRelay;
  let front: RelayFront;
  let alice: TestClient;
  let padding: { bytes: number; lengthStated: boolean } | undefined;

  beforeAll(async () => {
    const net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root] });
    front = await startRelayFront(relay.relay.port, undefined, {
      alterAnswer: (method, path, body) =>
        method === 'GET' && DIRECTORY_PATH.test(path) && padding
          ? {
              body: Buffer.concat([Buffer.alloc(padding.bytes, ' '), body]),
              lengthStated: padding.lengthStated,
            }
          : undefined,
    });
    await (
      await startClient(relay.url, await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice(), [net.root])
    ).client.close();
    alice = await startClient(
      front.url,
      await net.authority('th-oag', 'TH').contactPoint('alice').addDevice(),
      [net.root],
      { relayOrigin: relay.url },
    );
  }, 60_000);
  afterAll(async () => {
    await alice?.client.close();
    await front?.close();
    await relay?.stop();
  });
  beforeEach(() => {
    padding = undefined;
  });

  /** A directory search (read from the relay every time), as the ids found or the error's code. */
  const lookUp = () =>
    alice.client.directory.search().then(
      ({ entries }) =>
        entries
          .map((e) => e.contactPoint.contactPoint.contactPointId)
          .sort()
          .join(' '),
      (error: unknown) => (isLiaisonError(error) ? error.code : String(error)),
    );

  it('reads a padded answer within the bound', async () => {
    padding = { bytes: 1 * MB, lengthStated: true };
    expect(await lookUp()).toBe(FOUND);
  });

  it('refuses an answer past 4 MiB, with its length stated or not', async () => {
    padding = { bytes: 5 * MB, lengthStated: true };
    expect(await lookUp()).toBe('INVALID_MESSAGE');
    padding = { bytes: 5 * MB, lengthStated: false };
    expect(await lookUp()).toBe('INVALID_MESSAGE');

    padding = undefined;
    expect(await lookUp()).toBe(FOUND);
  });
});
