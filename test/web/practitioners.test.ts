// Liaison Web end to end, in real Chromium against a relay process: two practitioners in two
// countries enrol from the files the CLI made, find each other, compare safety numbers, exchange
// messages and a file, send an urgent request that escalates, reload, meet a key change, and read
// the interface in French and Russian. Each main screen is saved as a screenshot and scanned by axe.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LiaisonClient, type ReceivedMessage } from '@liaison/client';
import { FileKeyStore } from '@liaison/client/node';
import type { AuthorityCertificate, ContactPointCertificate, DeviceCertificate } from '@liaison/protocol';
import { sql } from 'kysely';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fr } from '../../web/src/i18n/fr.js';
import { ru } from '../../web/src/i18n/ru.js';
import { launchChromium, withChromium } from '../harness/browser.js';
import { freshPostgresDatabase, type TestDatabase } from '../harness/databases.js';
import { type RelayProcess, spawnRelay } from '../harness/relay-process.js';
import { postgresService } from '../harness/services.js';
import { until } from '../harness/until.js';
import {
  FILE_PASSPHRASE,
  makeWebNetwork,
  notificationsShown,
  practitionerPage,
  progressSeen,
  registerDeviceBeforeHybrid,
  screen,
  skipAfterFirstFailure,
  WEB_DIST,
  type WebNetwork,
} from '../harness/web-practitioners.js';
import {
  englishLeftIn,
  enrol,
  expectAccessible,
  reloadAndUnlock,
  STORE_PASSPHRASE,
  shows,
} from '../harness/web-steps.js';

const REFERENCE = 'SN-PRS-2026-0113';

// PostgreSQL rather than the embedded default: the key-change step puts an authority's new
// designation into the relay's database while the relay runs (the relay itself accepts a new
// account key for a contact point only from a new designation it has never seen).
const describeWeb = postgresService.url ? withChromium.describe : postgresService.describe;

describeWeb('Liaison Web: two practitioners in two countries, in real Chromium', () => {
  let net: WebNetwork;
  let database: TestDatabase;
  let relay: RelayProcess;
  let browser: Browser;
  let diallo: Page;
  let yao: Page;
  let desk: LiaisonClient | undefined;
  /** Yao's browser after the re-designation (the key-change step). */
  let yaoAgain: Page;
  const deskReceived: ReceivedMessage[] = [];

  beforeAll(async () => {
    [net, database, browser] = await Promise.all([makeWebNetwork(), freshPostgresDatabase(), launchChromium()]);
    relay = await spawnRelay([net.root], {
      LIAISON_DATABASE_URL: database.url as string,
      LIAISON_WEB_DIR: WEB_DIST,
      LIAISON_URGENT_ACK_MIN_SECONDS: '5',
      LIAISON_ESCALATION_POLL_MS: '250',
    });
    diallo = (await practitionerPage(browser, relay.url)).page;
    yao = (await practitionerPage(browser, relay.url)).page;
  }, 240_000);

  afterAll(async () => {
    await desk?.close();
    await browser?.close();
    await relay?.stop();
    await database?.drop();
    await net?.close();
  });

  skipAfterFirstFailure();

  /** A reload locks the page: unlock it and open the conversation with Yao. */
  async function reloadAndOpenYao(page: Page): Promise<void> {
    await reloadAndUnlock(page);
    await page
      .getByRole('link', { name: /Kouassi Yao/ })
      .first()
      .click();
  }

  async function safetyDigits(page: Page | Locator): Promise<string> {
    const digits = page.locator('.safety-digits');
    await digits.waitFor();
    return (await digits.locator('.group').allTextContents()).join(' ');
  }

  async function openDirectoryEntry(page: Page, country: string, name: string) {
    await page.getByRole('link', { name: 'Directory' }).first().click();
    await page.getByLabel('Country (code, e.g. FR)').fill(country);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const entry = page.locator('li.entry', { has: page.getByRole('heading', { name }) });
    await entry.waitFor();
    return entry;
  }

  it('enrols both practitioners from the files the CLI made; the device key is made in the browser', async () => {
    // A root file among the files is not taken: the page trusts the networks its deployment names.
    await enrol(diallo, relay.url, net.diallo, { shot: 'enrol', extraFiles: [net.rogueRoot] });
    await enrol(yao, relay.url, net.yao);
    await shows(diallo.locator('.self'), 'Aminata Diallo · Procureure de la République');
    await expectAccessible(diallo);
    await screen(diallo, 'home');
  });

  it('finds each other in the directory, verified, and both screens show the same safety number', async () => {
    const entry = await openDirectoryEntry(diallo, 'CI', 'Kouassi Yao');
    await shows(entry, "Ministère de la Justice de Côte d'Ivoire");
    await shows(entry, 'Designation verified up to the network root');
    await expectAccessible(diallo);
    await screen(diallo, 'directory');
    await entry.getByRole('link', { name: 'Safety number' }).click();
    const seenByDiallo = await safetyDigits(diallo);

    const other = await openDirectoryEntry(yao, 'SN', 'Aminata Diallo');
    await other.getByRole('link', { name: 'Safety number' }).click();
    const seenByYao = await safetyDigits(yao);

    expect(seenByDiallo).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(seenByYao).toBe(seenByDiallo);
    expect(await diallo.locator('figure.qr svg').isVisible()).toBe(true);
    await expectAccessible(diallo);
    await screen(diallo, 'safety-number');
    for (const page of [diallo, yao]) {
      await page.getByRole('button', { name: 'The numbers match: mark as verified' }).click();
      await page.getByText('Marked as verified.').waitFor();
    }
  });

  it('exchanges messages with handling codes, and a file whose progress shows on both sides', async () => {
    const order = randomBytes(9 * 1024 * 1024 + 123);
    const entry = await openDirectoryEntry(diallo, 'CI', 'Kouassi Yao');
    await entry.getByRole('link', { name: 'Write to Kouassi Yao' }).click();
    await diallo.getByLabel('Subject').fill('Demande d’entraide : relevés bancaires');
    await diallo.getByLabel('Case reference').fill(REFERENCE);
    await diallo.getByLabel('Language of the text').selectOption('fr');
    await diallo.getByLabel('Not to be used in court without permission').check();
    await diallo
      .getByLabel('Message', { exact: true })
      .fill('Monsieur le Substitut,\nVeuillez trouver ci-joint l’ordonnance du juge d’instruction.');
    await diallo
      .getByLabel('Attach files')
      .setInputFiles({ name: 'ordonnance.pdf', mimeType: 'application/pdf', buffer: order });
    await expectAccessible(diallo);
    await screen(diallo, 'compose');
    await diallo.getByRole('button', { name: 'Send', exact: true }).click();
    await diallo.getByText(/Stored by the relay/).waitFor({ timeout: 30_000 });
    // The bar moved while the file went up (it gives way to the receipts once the relay has the message).
    const upload = (await progressSeen(diallo)).find((p) => p.label === 'Uploading ordonnance.pdf');
    expect(upload?.total).toBe(order.length);
    expect(upload?.max).toBeGreaterThan(0);

    await yao.getByRole('link', { name: /Aminata Diallo.*1 unread/s }).click();
    const message = yao.getByRole('article', { name: /From Aminata Diallo/ });
    // Yao compared the numbers before the first message: the conversation opens as verified.
    await shows(yao.locator('.conversation-head'), 'Verified');
    await shows(
      message,
      'Aminata Diallo · Procureure de la République · Ministère de la Justice du Sénégal · Senegal · WACAP',
    );
    await shows(message, 'Not to be used in court without permission');
    await shows(message, 'Veuillez trouver ci-joint');
    await shows(message, REFERENCE);
    const [saved] = await Promise.all([
      yao.waitForEvent('download', { timeout: 60_000 }),
      message.getByRole('button', { name: 'Save ordonnance.pdf' }).click(),
    ]);
    expect(saved.suggestedFilename()).toBe('ordonnance.pdf');
    expect((await readFile(await saved.path())).equals(order)).toBe(true);
    await message.getByText('Saved, checked intact.').waitFor();
    const download = (await progressSeen(yao)).find((p) => p.label === 'Downloading ordonnance.pdf');
    expect(download?.total).toBe(order.length);
    expect(download?.max).toBeGreaterThan(0);
    await expectAccessible(yao);

    await yao.getByLabel('Message', { exact: true }).fill('Bien reçu, je transmets au juge.');
    await yao.getByRole('button', { name: 'Send', exact: true }).click();
    await diallo.getByRole('article').getByText('Bien reçu, je transmets au juge.').waitFor({ timeout: 20_000 });
    await diallo.getByText(/Delivered to Kouassi Yao \(1 device\)/).waitFor();
    await screen(yao, 'conversation');
    await screen(diallo, 'conversation-sender');
  });

  it("escalates an unacknowledged urgent request to the duty desk on the sender's screen; Yao's acknowledgement stops it", async () => {
    const keyStore = await FileKeyStore.open(net.desk.store, { passphrase: FILE_PASSPHRASE });
    const json = async <T>(path: string) => JSON.parse(await readFile(path, 'utf8')) as T;
    desk = await LiaisonClient.create({
      serverUrl: relay.url,
      keyStore,
      trustedRoots: [net.root],
      chain: {
        authority: await json<AuthorityCertificate>(net.desk.files[1] as string),
        contactPoint: await json<ContactPointCertificate>(net.desk.files[0] as string),
        device: await json<DeviceCertificate>(net.desk.device),
      },
    });
    desk.on('message', (m) => void deskReceived.push(m));
    await desk.connect();

    await diallo
      .getByRole('link', { name: /Kouassi Yao/ })
      .first()
      .click();
    await diallo.getByText('Subject, case reference, restrictions, urgency').click();
    await diallo.getByLabel('Subject').fill('URGENT : conservation de données');
    await diallo.getByLabel('Message', { exact: true }).fill('Merci de geler le compte avant demain matin.');
    await diallo.getByLabel('Urgent: a person must acknowledge it in time').check();
    await diallo.getByLabel('Time to acknowledge, at each level').fill('0.1'); // 6 s, the relay's test minimum is 5 s
    await diallo.getByRole('button', { name: 'Send urgent request' }).click();

    // Yao is told at once, on the desktop too, and sees the time left.
    const urgent = yao
      .getByRole('article', { name: /From Aminata Diallo/ })
      .filter({ hasText: 'URGENT : conservation' });
    await urgent.getByRole('button', { name: 'Acknowledge: I have it' }).waitFor({ timeout: 20_000 });
    await shows(urgent, 'left to acknowledge');
    await until(async () => (await notificationsShown(yao)).length > 0, 'a desktop notification', 10_000);
    expect((await notificationsShown(yao))[0]).toMatchObject({ title: 'Urgent request in Liaison' });
    expect((await notificationsShown(yao))[0]?.body).toContain('Aminata Diallo');
    expect((await notificationsShown(yao))[0]?.body).not.toContain('geler');
    await expectAccessible(yao);
    await urgent.scrollIntoViewIfNeeded();
    await screen(yao, 'urgent-received');

    // Nobody acknowledges in time: the relay releases the duty desk's copy, and the sender sees it.
    const timeline = diallo.locator('.timeline').last();
    await shows(timeline.locator('li').nth(1), /Level 1 Permanence du parquet.*reached/, 30_000);
    await until(() => deskReceived.some((m) => m.escalationLevel === 1), 'the duty desk to get its copy', 10_000);
    await timeline.scrollIntoViewIfNeeded();
    await screen(diallo, 'urgent-escalated');

    await urgent.getByRole('button', { name: 'Acknowledge: I have it' }).click();
    await shows(timeline, 'Acknowledged by Kouassi Yao', 20_000);
    await shows(urgent, 'Acknowledged by you');
    await expectAccessible(diallo);
    await screen(diallo, 'urgent-acknowledged');
  });

  it('shows a directory entry whose signature does not verify as refused, with the reason, never as a contact point', async () => {
    // A hostile relay (here: its database) changes the duty desk's name in its signed designation.
    const original = await sql<{
      certificate: unknown;
    }>`select certificate from contact_points where contact_point_id = 'ci-mj.permanence'`.execute(database.db);
    await sql`update contact_points set certificate = jsonb_set(certificate, '{displayName}', '"Bureau de Confiance"') where contact_point_id = 'ci-mj.permanence'`.execute(
      database.db,
    );
    try {
      await openDirectoryEntry(diallo, 'CI', 'Kouassi Yao');
      const refused = diallo.locator('section.rejected');
      await shows(refused, '1 entry could not be verified and is not shown');
      await shows(refused, 'ci-mj.permanence: A signature does not verify');
      expect(await diallo.locator('li.entry').allInnerTexts()).not.toContainEqual(
        expect.stringContaining('Bureau de Confiance'),
      );
      await screen(diallo, 'directory-refused');
    } finally {
      await sql`update contact_points set certificate = ${JSON.stringify(original.rows[0]?.certificate)}::jsonb where contact_point_id = 'ci-mj.permanence'`.execute(
        database.db,
      );
    }
  });

  it('locks on reload; the passphrase opens it again with the history kept, searchable', async () => {
    await diallo.reload();
    await diallo.getByRole('heading', { name: 'Liaison is locked' }).waitFor();
    await expectAccessible(diallo);
    await screen(diallo, 'unlock');
    await diallo.getByLabel('Passphrase for this browser').fill('not the passphrase');
    await diallo.getByRole('button', { name: 'Unlock' }).click();
    await diallo.getByText('Wrong passphrase.').waitFor({ timeout: 20_000 });
    await diallo.getByLabel('Passphrase for this browser').fill(STORE_PASSPHRASE);
    await diallo.getByRole('button', { name: 'Unlock' }).click();
    await diallo
      .getByRole('link', { name: /Kouassi Yao/ })
      .first()
      .waitFor({ timeout: 20_000 });
    await diallo.getByRole('link', { name: REFERENCE }).click();
    await diallo.getByRole('heading', { name: `Case ${REFERENCE}` }).waitFor();
    // The browser keeps addresses in its history, in clear: a case reference is never in one.
    expect(diallo.url()).not.toContain(REFERENCE);
    expect(await diallo.getByRole('article').count()).toBe(1);
    await diallo.getByLabel('Search messages').fill('ordonnance');
    await diallo.getByLabel('Search messages').press('Enter');
    await diallo.getByText('1 message found').waitFor();
    expect(diallo.url()).not.toContain('ordonnance');
    await screen(diallo, 'search');
  });

  it('a changed key blocks sending until the safety number is compared again', async () => {
    // The Ivorian authority designates Yao again with a new account key, and Yao sets up a new browser with it.
    const designation = JSON.parse(await readFile(net.yaoAgain.files[0] as string, 'utf8')) as ContactPointCertificate;
    await sql`update contact_points set certificate = ${JSON.stringify(designation)}::jsonb, account_key = ${designation.accountKey} where contact_point_id = ${designation.contactPointId}`.execute(
      database.db,
    );
    await sql`delete from devices where contact_point_id = ${designation.contactPointId}`.execute(database.db);
    yaoAgain = (await practitionerPage(browser, relay.url)).page;
    await enrol(yaoAgain, relay.url, net.yaoAgain);

    await reloadAndOpenYao(diallo);
    await diallo.getByLabel('Message', { exact: true }).fill('Avez-vous pu geler le compte ?');
    await diallo.getByRole('button', { name: 'Send', exact: true }).click();

    const dialog = diallo.getByRole('alertdialog', { name: "Kouassi Yao's security key has changed" });
    await dialog.waitFor({ timeout: 20_000 });
    expect(await diallo.getByRole('button', { name: 'Send', exact: true }).isDisabled()).toBe(true);
    const accept = dialog.getByRole('button', { name: 'Accept the new key' });
    expect(await accept.isDisabled()).toBe(true);
    await expectAccessible(diallo);
    await screen(diallo, 'key-changed');

    // Meanwhile Yao, from the new browser, writes: it arrives, marked as sent with a key nobody compared yet.
    const entry = await openDirectoryEntry(yaoAgain, 'SN', 'Aminata Diallo');
    await entry.getByRole('link', { name: 'Write to Aminata Diallo' }).click();
    await yaoAgain.getByLabel('Message', { exact: true }).fill('Nouveau poste, nouvelle clé.');
    await yaoAgain.getByRole('button', { name: 'Send', exact: true }).click();
    const fromNewKey = diallo.getByRole('article').filter({ hasText: 'Nouveau poste, nouvelle clé.' });
    await fromNewKey.waitFor({ state: 'attached', timeout: 20_000 });
    await shows(fromNewKey, 'Sent with a key not compared yet');

    // Compared with what Yao's new browser shows, the numbers agree: Diallo accepts, and the message goes.
    const newNumber = await safetyDigits(dialog);
    await yaoAgain.goto(`${relay.url}/#/safety/sn-mj.diallo`);
    expect(await safetyDigits(yaoAgain)).toBe(newNumber);
    await dialog.getByLabel('I compared the numbers with Kouassi Yao and they are the same').check();
    await accept.click();
    await dialog.waitFor({ state: 'detached' });
    await diallo.getByRole('button', { name: 'Try again' }).click();
    await yaoAgain
      .getByRole('link', { name: /Aminata Diallo/ })
      .first()
      .click();
    await yaoAgain.getByRole('article').getByText('Avez-vous pu geler le compte ?').waitFor({ timeout: 20_000 });
  });

  it('shows when it is offline, keeps what is written waiting, and sends it when the relay is back', async () => {
    const status = diallo.getByRole('status').filter({ hasText: /Connected|Offline/ });
    await relay.kill();
    await shows(status, 'Offline, reconnecting', 20_000);
    await diallo.getByLabel('Message', { exact: true }).fill('Écrit pendant la coupure.');
    await diallo.getByRole('button', { name: 'Send', exact: true }).click();
    const written = diallo.getByRole('article').filter({ hasText: 'Écrit pendant la coupure.' });
    await shows(written, 'Waiting to be sent');
    await shows(status, '1 message waiting to be sent');
    await expectAccessible(diallo);
    await screen(diallo, 'offline');

    await relay.restart();
    await shows(status, 'Connected', 30_000);
    await shows(written, 'Stored by the relay', 30_000);
    await yaoAgain.getByRole('article').getByText('Écrit pendant la coupure.').waitFor({ timeout: 20_000 });
  });

  it('resumes a file upload that a reload cut short', async () => {
    const dossier = randomBytes(24 * 1024 * 1024 + 7);
    // A slow uplink (2 MB/s), so that the reload comes while the file is going up.
    const network = await diallo.context().newCDPSession(diallo);
    const uplink = (uploadThroughput: number) =>
      network.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput,
      });
    await uplink(2 * 1024 * 1024);
    await diallo.getByLabel('Message', { exact: true }).fill('Le dossier complet.');
    await diallo
      .getByLabel('Attach files')
      .setInputFiles({ name: 'dossier.zip', mimeType: 'application/zip', buffer: dossier });
    await diallo.getByRole('button', { name: 'Send', exact: true }).click();
    await until(
      async () => ((await progressSeen(diallo)).find((p) => p.label === 'Uploading dossier.zip')?.max ?? 0) > 0,
      'the upload to start',
      30_000,
    );
    const sending = diallo.getByRole('article').filter({ hasText: 'Le dossier complet.' });
    await shows(sending, 'Waiting to be sent');

    await uplink(-1);
    await reloadAndOpenYao(diallo);
    await shows(diallo.getByRole('article').filter({ hasText: 'Le dossier complet.' }), 'Stored by the relay', 60_000);

    const received = yaoAgain.getByRole('article').filter({ hasText: 'Le dossier complet.' });
    await received.waitFor({ timeout: 20_000 });
    const [saved] = await Promise.all([
      yaoAgain.waitForEvent('download', { timeout: 60_000 }),
      received.getByRole('button', { name: 'Save dossier.zip' }).click(),
    ]);
    expect((await readFile(await saved.path())).equals(dossier)).toBe(true);
  });

  it('reads in French and in Russian with every string translated', async () => {
    const screens = ['#/', '#/directory', '#/compose', '#/settings', '#/safety/ci-mj.yao'];
    for (const [code, catalogue] of [
      ['fr', fr],
      ['ru', ru],
    ] as const) {
      await diallo
        .getByLabel(code === 'fr' ? 'Language' : 'Langue')
        .first()
        .selectOption(code);
      for (const hash of screens) {
        await diallo.evaluate((h) => {
          (globalThis as unknown as { location: { hash: string } }).location.hash = h;
        }, hash);
        await diallo.waitForTimeout(300);
        const text = await diallo.locator('body').innerText();
        expect(englishLeftIn(text, catalogue), `${code} ${hash}`).toEqual([]);
        // A placeholder the code did not fill would show as "{name}".
        expect(text, `${code} ${hash}`).not.toMatch(/\{[a-zA-Z]+\}/);
      }
      await diallo
        .getByRole('link', { name: /Kouassi Yao/ })
        .first()
        .click();
      await diallo.locator('article').first().waitFor();
      await screen(diallo, `conversation-${code}`);
    }
  });

  it("enrols a second browser through an administrator: the page's device request out, the certificate in", async () => {
    const { page: office } = await practitionerPage(browser, relay.url);
    await office.goto(relay.url);
    // The designation and the authority's certificate only: the account key stays with the administrator.
    await office
      .getByLabel('Your files (designation, authority certificate, account key)')
      .setInputFiles(net.diallo.files.slice(0, 2));
    await office.getByText('Verified: Aminata Diallo').waitFor();
    await office.getByLabel('Name of this computer (seen by your counterparts)').fill('Office PC');
    await office.getByLabel('New passphrase', { exact: true }).fill(STORE_PASSPHRASE);
    await office.getByLabel('The same passphrase again').fill(STORE_PASSPHRASE);
    await office.getByRole('button', { name: 'Ask an administrator to certify this browser instead' }).click();
    const [request] = await Promise.all([
      office.waitForEvent('download'),
      office.getByRole('link', { name: /Save the request/ }).click(),
    ]);
    await screen(office, 'device-request');
    await request.saveAs(join(net.dir, 'office.pub'));

    await net.cli(
      'device',
      'certify',
      '--contact-cert',
      'diallo.contact.json',
      '--account-key',
      'diallo.key',
      '--device-key',
      'office.pub',
      '--name',
      'Office PC',
      '--out',
      'office.device.json',
    );

    await office.getByRole('button', { name: 'I have sent it' }).click();
    await office.getByRole('heading', { name: 'Waiting for your device certificate' }).waitFor();
    await expectAccessible(office);
    await office.getByLabel('Device certificate (.device.json)').setInputFiles(join(net.dir, 'office.device.json'));
    await office.getByText('Certificate for "Office PC"').waitFor();
    await office.getByLabel('Passphrase for this browser').fill(STORE_PASSPHRASE);
    await office.getByRole('button', { name: 'Finish setting up' }).click();
    await office.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 });
    await shows(office.locator('.self'), 'Aminata Diallo');
  });

  it("says in words when a counterpart's device predates post-quantum protection", async () => {
    await registerDeviceBeforeHybrid(net, relay.url);
    // The page is still in Russian from the languages step.
    await diallo
      .getByLabel(ru['language.label'] as string)
      .first()
      .selectOption('en');
    const entry = await openDirectoryEntry(diallo, 'CI', 'Awa Koné');
    await entry.getByRole('link', { name: 'Write to Awa Koné' }).click();
    await diallo.getByLabel('Subject').fill('Coordination');
    await diallo.getByLabel('Message', { exact: true }).fill('Bonjour Madame, pouvons-nous nous parler demain ?');
    await diallo.getByRole('button', { name: 'Send', exact: true }).click();
    await diallo.getByText(/Stored by the relay/).waitFor({ timeout: 30_000 });
    const head = diallo.locator('.conversation-head');
    await shows(head, 'Older encryption');
    await shows(head, 'without protection against future quantum computers');
    // Yao's devices are all hybrid: his conversation says nothing of the kind.
    await diallo
      .getByRole('link', { name: /Kouassi Yao/ })
      .first()
      .click();
    await shows(head, 'Kouassi Yao');
    expect(await head.innerText()).not.toContain('Older encryption');
    await diallo
      .getByRole('link', { name: /Awa Koné/ })
      .first()
      .click();
    await shows(head, 'Older encryption');
    await expectAccessible(diallo);
    await screen(diallo, 'classical-session');
    // Said in the reader's language too.
    await diallo.getByLabel('Language').first().selectOption('fr');
    await shows(head, fr['trust.classicalBadge'] as string);
    await shows(head, fr['trust.classicalHint'] as string);
    await screen(diallo, 'classical-session-fr');
  });
});
