import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient } from './harness/clients.js';
import { register } from './harness/device-client.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';

/**
 * Post-quantum hybrid sessions end to end, through a real relay: what the relay stores is a
 * version-2 first message carrying an ML-KEM-768 ciphertext, and the SDK tells the application
 * which sessions are hybrid and which are classical (a device that predates hybrid sessions).
 */
describe('hybrid sessions through the relay', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root] });
  });
  afterAll(() => relay.stop());

  /** What the relay holds for a message: the ciphertext's first bytes say its session version and type. */
  async function stored(messageId: string): Promise<Uint8Array> {
    const row = await relay.relay.db
      .selectFrom('envelopes')
      .select('ciphertext')
      .where('message_id', '=', messageId)
      .executeTakeFirstOrThrow();
    return row.ciphertext;
  }

  it('starts every new session hybrid, and says so on both sides', async () => {
    const sender = await startClient(relay.url, await net.authority('sn-pj', 'SN').contactPoint('diallo').addDevice(), [
      net.root,
    ]);
    const recipientDevice = await net.authority('ci-pg', 'CI').contactPoint('kone').addDevice();
    const offline = await startClient(relay.url, recipientDevice, [net.root]);
    await offline.client.close();

    expect(await sender.client.sessions('ci-pg.kone')).toEqual([
      { deviceId: recipientDevice.id, deviceName: 'Office laptop', protection: 'none', certifiedHybrid: true },
    ]);
    const { messageId } = await sender.client.send('ci-pg.kone', { text: 'Demande de préservation des données' });
    const first = await stored(messageId);
    // Version 2, prekey message; 1,092 bytes of KEM prefix beyond the classical header.
    expect([first[0], first[1]]).toEqual([2, 2]);
    expect(first.length).toBeGreaterThan(2 + 69 + 4 + 1088 + 40 + 16);
    expect((await sender.client.sessions('ci-pg.kone'))[0]?.protection).toBe('hybrid');

    const recipient = await startClient(relay.url, recipientDevice, [net.root]);
    expect((await recipient.waitForMessages(1))[0]?.text).toBe('Demande de préservation des données');
    expect((await recipient.client.sessions('sn-pj.diallo'))[0]).toMatchObject({
      protection: 'hybrid',
      certifiedHybrid: true,
    });
    await Promise.all([sender.client.close(), recipient.client.close()]);
  });

  it('reaches a device that predates hybrid sessions classically, shows it, and it reads the message', async () => {
    const sender = await startClient(relay.url, await net.authority('sn-pj', 'SN').contactPoint('sow').addDevice(), [
      net.root,
    ]);
    // Certified before capabilities existed, registered by an SDK that published no KEM prekeys.
    const oldDevice = await net.authority('ml-pg', 'ML').contactPoint('traore').addDevice('Vieux poste', {
      classical: true,
    });
    expect((await register(relay.url, oldDevice)).status).toBe(200);

    const { messageId } = await sender.client.send('ml-pg.traore', { text: 'Bonjour' });
    expect((await stored(messageId))[0]).toBe(1);
    expect(await sender.client.sessions('ml-pg.traore')).toEqual([
      { deviceId: oldDevice.id, deviceName: 'Vieux poste', protection: 'classical', certifiedHybrid: false },
    ]);

    // The device is updated: it reads the classical message, and the session goes on, classical.
    const updated = await startClient(relay.url, oldDevice, [net.root]);
    expect((await updated.waitForMessages(1))[0]?.text).toBe('Bonjour');
    await updated.client.send('sn-pj.sow', { text: 'Reçu' });
    expect((await sender.waitForMessages(1))[0]?.text).toBe('Reçu');
    expect((await updated.client.sessions('sn-pj.sow'))[0]?.protection).toBe('classical');
    await Promise.all([sender.client.close(), updated.client.close()]);
  });
});
