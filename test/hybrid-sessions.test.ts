import { certifyDevice } from '@liaison/client';
import { PQ_HYBRID_CAPABILITY } from '@liaison/protocol';
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
      { deviceId: recipientDevice.id, deviceName: 'Office laptop', protection: 'none', speaksHybrid: true },
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
      speaksHybrid: true,
    });
    await Promise.all([sender.client.close(), recipient.client.close()]);
  });

  it('a device certified again for hybrid sessions registers again; its correspondents move to a hybrid session', async () => {
    const senderDevice = await net.authority('sn-pj', 'SN').contactPoint('ba').addDevice();
    let sender = await startClient(relay.url, senderDevice, [net.root]);
    const contactPoint = net.authority('gn-pg', 'GN').contactPoint('camara');
    const device = await contactPoint.addDevice('Laptop', { classical: true });
    // Registered by an SDK from before hybrid sessions: a classical session starts.
    expect((await register(relay.url, device)).status).toBe(200);
    await sender.client.send('gn-pg.camara', { text: 'classique' });
    expect((await sender.client.sessions('gn-pg.camara'))[0]?.protection).toBe('classical');

    // The contact point certifies the same device key again, now saying pq-hybrid; the updated tool connects with it.
    const { signature: _, ...body } = device.chain.device;
    const recertified = certifyDevice(contactPoint.accountKeys, {
      ...body,
      notBefore: body.notBefore + 1000,
      capabilities: [PQ_HYBRID_CAPABILITY],
    });
    const updated = await startClient(relay.url, { ...device, chain: { ...device.chain, device: recertified } }, [
      net.root,
    ]);
    const served = await relay.relay.db
      .selectFrom('devices')
      .select('certificate')
      .where('device_id', '=', device.id)
      .executeTakeFirstOrThrow();
    expect((served.certificate as { capabilities?: string[] }).capabilities).toEqual([PQ_HYBRID_CAPABILITY]);
    expect((await updated.waitForMessages(1))[0]?.text).toBe('classique');

    // The sender learns it from the directory (here at its next start; else within the 5 minutes its
    // directory cache keeps an entry), and its next message starts a hybrid session.
    await sender.client.close();
    sender = await startClient(relay.url, senderDevice, [net.root]);
    expect((await sender.client.sessions('gn-pg.camara'))[0]).toMatchObject({
      protection: 'classical',
      speaksHybrid: true,
    });
    await sender.client.send('gn-pg.camara', { text: 'hybride' });
    expect((await updated.waitForMessages(2))[1]?.text).toBe('hybride');
    expect((await sender.client.sessions('gn-pg.camara'))[0]?.protection).toBe('hybrid');
    expect((await updated.client.sessions('sn-pj.ba'))[0]?.protection).toBe('hybrid');
    await Promise.all([sender.client.close(), updated.client.close()]);
  });

  it('reaches a device that predates hybrid sessions classically and shows it; once updated, its answer starts a hybrid session', async () => {
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
      { deviceId: oldDevice.id, deviceName: 'Vieux poste', protection: 'classical', speaksHybrid: false },
    ]);

    // The device is updated: it reads the classical message; its answer starts a hybrid session,
    // as the sender's certificate says it speaks them, and from then on both sides use it.
    const updated = await startClient(relay.url, oldDevice, [net.root]);
    expect((await updated.waitForMessages(1))[0]?.text).toBe('Bonjour');
    const answer = await updated.client.send('sn-pj.sow', { text: 'Reçu' });
    expect((await stored(answer.messageId))[0]).toBe(2);
    expect((await sender.waitForMessages(1))[0]?.text).toBe('Reçu');
    expect((await updated.client.sessions('sn-pj.sow'))[0]?.protection).toBe('hybrid');
    expect((await sender.client.sessions('ml-pg.traore'))[0]).toMatchObject({
      protection: 'hybrid',
      speaksHybrid: true,
    });
    await Promise.all([sender.client.close(), updated.client.close()]);
  });
});
