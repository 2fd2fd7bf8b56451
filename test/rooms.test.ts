import type { RoomView } from '@liaison/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { until } from './harness/until.js';

/**
 * Case rooms end to end: five contact points in five countries, two devices each, through a relay
 * on PostgreSQL. Every member device's view of the membership is compared after each step, and
 * what a removed member could receive is read from the relay's own tables.
 */
describe('case rooms', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  const people: Record<string, { id: string; devices: TestClient[] }> = {};
  const countries = { th: 'TH', vn: 'VN', ph: 'PH', id: 'ID', my: 'MY', kh: 'KH' } as const;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('postgres', { trustedRoots: [net.root] });
    for (const [code, country] of Object.entries(countries)) {
      const contactPoint = net.authority(`${code}-ago`, country).contactPoint('prosecutor');
      const devices: TestClient[] = [];
      for (const name of ['Office laptop', 'Phone'])
        devices.push(await startClient(relay.url, await contactPoint.addDevice(name), [net.root]));
      people[code] = { id: contactPoint.id, devices };
    }
  }, 120_000);
  afterAll(async () => {
    for (const p of Object.values(people)) for (const d of p.devices) await d.client.close();
    await relay.stop();
  });

  const all = (codes: string[]) => codes.flatMap((c) => people[c]?.devices ?? []);
  const first = (code: string) => people[code]?.devices[0] as TestClient;
  const idOf = (code: string) => people[code]?.id as string;
  const membersOf = (view: RoomView | undefined) =>
    view?.members.map((m) => `${m.contactPointId}:${m.role}`).sort() ?? [];

  /** Waits until every listed device holds the room with exactly these members, and the same title. */
  async function agree(roomId: string, codes: string[], expected: string[], title?: string) {
    for (const device of all(codes)) {
      await until(async () => {
        const view = await device.client.rooms.get(roomId);
        return (
          JSON.stringify(membersOf(view)) === JSON.stringify([...expected].sort()) &&
          (title === undefined || view?.title === title)
        );
      }, `device of ${device.client.contactPointId} to agree on room ${roomId}`);
    }
  }

  it('five contact points create a room, talk, add a sixth, remove one and rename it; every view agrees', async () => {
    const five = ['th', 'vn', 'ph', 'id', 'my'];
    const room = await first('th').client.rooms.create({
      title: 'JIT Mekong — trafic de migrants',
      caseReference: 'JIT-2026-014',
      members: five.slice(1).map(idOf),
    });
    const members = (codes: string[]) => codes.map((c) => `${idOf(c)}:${c === 'th' ? 'admin' : 'member'}`);
    expect(membersOf(room)).toEqual(members(five).sort());
    await agree(room.roomId, five, members(five));

    const sent = await first('vn').client.rooms.send(room.roomId, { text: 'Bonjour à tous, les preuves sont prêtes.' });
    // Every member device but the one that wrote it.
    for (const device of all(five).filter((d) => d !== first('vn'))) {
      await until(
        () => device.roomMessages.some((m) => m.messageId === sent.messageId),
        `the message at ${device.client.contactPointId}`,
      );
      const got = device.roomMessages.find((m) => m.messageId === sent.messageId);
      expect(got).toMatchObject({ roomId: room.roomId, text: 'Bonjour à tous, les preuves sont prêtes.' });
      expect(got?.sender.contactPointId).toBe(idOf('vn'));
    }

    await first('th').client.rooms.invite(room.roomId, idOf('kh'));
    const six = [...five, 'kh'];
    await agree(room.roomId, six, members(six));

    await first('th').client.rooms.remove(room.roomId, idOf('ph'));
    const afterRemoval = six.filter((c) => c !== 'ph');
    await agree(room.roomId, afterRemoval, members(afterRemoval));
    for (const device of all(['ph'])) {
      await until(async () => (await device.client.rooms.get(room.roomId))?.role === undefined, 'the removal at ph');
    }

    await first('th').client.rooms.rename(room.roomId, 'JIT Mekong — phase 2', 'JIT-2026-014');
    await agree(room.roomId, afterRemoval, members(afterRemoval), 'JIT Mekong — phase 2');

    const later = await first('id').client.rooms.send(room.roomId, { text: 'Après le retrait' });
    for (const device of all(afterRemoval).filter((d) => d !== first('id')))
      await until(() => device.roomMessages.some((m) => m.messageId === later.messageId), 'the later message');
    // The relay stored no copy for the removed member's devices, and names only the current members.
    // All delivered and deleted, once each device's acknowledgement (sent in batches, after the message is shown) lands.
    const copiesLeft = async () =>
      (
        await relay.relay.db
          .selectFrom('envelopes')
          .select('recipient_device')
          .where('message_id', '=', later.messageId)
          .execute()
      ).length;
    await until(async () => (await copiesLeft()) === 0, 'every copy of the later message acknowledged');
    const removedDevices = all(['ph']).map((d) => d.client.deviceId);
    const listed = await relay.relay.db
      .selectFrom('message_recipients')
      .select('contact_point_id')
      .where('message_id', '=', later.messageId)
      .execute();
    expect(listed.map((r) => r.contact_point_id).sort()).toEqual(
      afterRemoval
        .filter((c) => c !== 'id')
        .map(idOf)
        .sort(),
    );
    const receipts = await relay.relay.db
      .selectFrom('receipts')
      .select(['contact_point_id', 'device_id'])
      .where('message_id', '=', later.messageId)
      .execute();
    expect(receipts.some((r) => removedDevices.includes(r.device_id ?? ''))).toBe(false);
    for (const device of all(['ph']))
      expect(device.roomMessages.some((m) => m.messageId === later.messageId)).toBe(false);
  }, 180_000);
});
