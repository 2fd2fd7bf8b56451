import { expect, it } from 'vitest';
import { buildSend } from './harness/messaging.js';
import { startMessagingWorld } from './harness/messaging-world.js';

/**
 * A relay stopping lets the handlers it is running finish, then closes the sockets (docs/relay.md,
 * "Stopping"): the answers those handlers wrote reach their devices before the sockets close, even
 * though the relay writes a turn's frames together (review of one write a turn, finding 1).
 */
it('answers every send it handled before it stops, then closes the sockets', async () => {
  const world = await startMessagingWorld('pglite');
  const alice = await world.online(world.alice1);
  const sends = await Promise.all(
    Array.from({ length: 8 }, (_, i) => buildSend(world.relay.url, world.alice1, 'vn-spp.bob', `m${i}`)),
  );
  const answers = sends.map((send) =>
    alice.call('send', send).then(
      (result) => (result.ok ? 'stored' : result.error),
      (error: Error) => `lost: ${error.message}`,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 5));
  await world.relay.stop();
  const got = await Promise.all(answers);
  alice.close();
  // Those the relay took before it stopped are stored and answered, any it got while stopping refused: none unanswered.
  expect(got.filter((answer) => answer === 'stored').length).toBeGreaterThan(0);
  expect(got.filter((answer) => answer.startsWith('lost'))).toEqual([]);
}, 60_000);
