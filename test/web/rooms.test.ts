// Case rooms in Liaison Web, in real Chromium against a relay process: prosecutors in Senegal, Côte
// d'Ivoire and Mali open a room from the directory, write to it, and its administrator adds a
// fourth, takes one out and renames it; one leaves. What each of them sees is read off their page,
// after a reload too, and in French and Russian. Each screen is saved as a screenshot and scanned by axe.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fr } from '../../web/src/i18n/fr.js';
import { ru } from '../../web/src/i18n/ru.js';
import { launchChromium, withChromium } from '../harness/browser.js';
import { freshPostgresDatabase, type TestDatabase } from '../harness/databases.js';
import { type RelayProcess, spawnRelay } from '../harness/relay-process.js';
import { postgresService } from '../harness/services.js';
import {
  makeWebNetwork,
  practitionerPage,
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
  reloadToLock,
  shows,
  unlock,
} from '../harness/web-steps.js';

const TITLE = 'ECI Sahel — blanchiment';
const REFERENCE = 'SN-PRS-2026-0210';
const RENAMED = 'ECI Sahel — gel des avoirs';

const describeWeb = postgresService.url ? withChromium.describe : postgresService.describe;

describeWeb('Liaison Web: a case room among prosecutors of three countries, in real Chromium', () => {
  let net: WebNetwork;
  let database: TestDatabase;
  let relay: RelayProcess;
  let browser: Browser;
  /** Senegal: opens the room, its administrator. */
  let diallo: Page;
  /** Côte d'Ivoire: a member, taken out later. */
  let yao: Page;
  /** Mali: a member; reads in French. */
  let traore: Page;
  /** Côte d'Ivoire: added once the room has been talking; leaves at the end. */
  let kone: Page;

  beforeAll(async () => {
    [net, database, browser] = await Promise.all([makeWebNetwork(), freshPostgresDatabase(), launchChromium()]);
    relay = await spawnRelay([net.root], { LIAISON_DATABASE_URL: database.url as string, LIAISON_WEB_DIR: WEB_DIST });
    const page = async () => (await practitionerPage(browser, relay.url)).page;
    [diallo, yao, traore, kone] = await Promise.all([page(), page(), page(), page()]);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
    await database?.drop();
    await net?.close();
  });

  skipAfterFirstFailure();

  const timeline = (page: Page) => page.getByRole('log');
  const members = (page: Page) => page.locator('aside.room-members');
  const openRoom = async (page: Page, title = TITLE) => {
    await page.getByRole('link', { name: new RegExp(title) }).click({ timeout: 30_000 });
    await page.getByRole('heading', { name: title, level: 2 }).waitFor();
  };
  const write = async (page: Page, text: string) => {
    await page.getByLabel('Message to every member').fill(text);
    await page.getByRole('button', { name: 'Send to the room' }).click();
    await shows(page.getByRole('article').filter({ hasText: text }), 'Stored by the relay', 30_000);
  };
  /** The message as a reader sees it: the verified sender's name and country above its text. */
  const message = (page: Page, text: string): Locator => page.getByRole('article').filter({ hasText: text });

  it('enrols four practitioners from the files the CLI made', async () => {
    await Promise.all([
      enrol(diallo, relay.url, net.diallo),
      enrol(yao, relay.url, net.yao),
      enrol(traore, relay.url, net.traore),
      enrol(kone, relay.url, net.kone),
    ]);
    for (const page of [diallo, yao, traore, kone]) await shows(page.locator('.sidebar'), 'No case room yet.');
  });

  it('opens a room with a title, a case reference and two members picked in the directory', async () => {
    await diallo.getByRole('link', { name: 'New room' }).click();
    await diallo.getByRole('heading', { name: 'New case room' }).waitFor();
    // Opening a room with nobody in it is refused before anything is sent.
    await diallo.getByLabel('Title of the room').fill(TITLE);
    await diallo.getByRole('button', { name: 'Open the room' }).click();
    await diallo.getByText('Choose at least one member in the directory.').waitFor();

    await diallo.getByLabel('Case reference (if any)').fill(REFERENCE);
    await diallo.getByRole('button', { name: 'Add Kouassi Yao to the room' }).click({ timeout: 20_000 });
    await diallo.getByRole('button', { name: 'Add Fatoumata Traoré to the room' }).click();
    // Nobody can add themselves: the directory lists everyone else.
    expect(await diallo.getByRole('button', { name: 'Add Aminata Diallo to the room' }).count()).toBe(0);
    const form = diallo.locator('form.room-new-form');
    await shows(form, 'Members: 2 chosen');
    await shows(form, /Kouassi Yao\s+Côte d.Ivoire · Ministère de la Justice de Côte d'Ivoire/);
    await shows(form, /Fatoumata Traoré\s+Mali · Ministère de la Justice du Mali/);
    await expectAccessible(diallo);
    await diallo.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await screen(diallo, 'room-create');

    await diallo.getByRole('button', { name: 'Open the room' }).click();
    await diallo.getByRole('heading', { name: TITLE, level: 2 }).waitFor({ timeout: 30_000 });
    await shows(diallo.locator('.room-head'), `Case ${REFERENCE} · 3 members`);
    await shows(timeline(diallo), `Aminata Diallo opened the room "${TITLE}" with Kouassi Yao, Fatoumata Traoré`);
    await shows(members(diallo), 'Members (3)');
    await shows(members(diallo), /Aminata Diallo \(you\)\s+Senegal · Administrator/);
    await shows(members(diallo), /Kouassi Yao\s+Côte d.Ivoire · Member/);

    // The others find it in their sidebar, with its case reference and members.
    for (const page of [yao, traore]) {
      const link = page.getByRole('link', { name: new RegExp(TITLE) });
      await shows(link, `${REFERENCE} · 3 members`, 30_000);
    }
    // Awa Koné is not in it and hears nothing of it.
    expect(await kone.getByRole('link', { name: new RegExp(TITLE) }).count()).toBe(0);
  });

  it('carries every member’s messages and files to all the others, each under its verified sender and country', async () => {
    const statutes = randomBytes(300 * 1024);
    await openRoom(yao);
    await openRoom(traore);
    await write(yao, 'Bonjour à tous. Les relevés de la BICICI sont prêts.');
    await traore
      .getByLabel('Attach files')
      .setInputFiles({ name: 'societes-ecrans.pdf', mimeType: 'application/pdf', buffer: statutes });
    await write(traore, 'Merci. Côté Bamako, deux sociétés écrans sont identifiées.');
    await write(diallo, 'Parfait. Je demande le gel des comptes dès ce soir.');

    for (const [page, others] of [
      [diallo, ['Bonjour à tous', 'Merci. Côté Bamako']],
      [yao, ['Merci. Côté Bamako', 'Parfait. Je demande']],
      [traore, ['Bonjour à tous', 'Parfait. Je demande']],
    ] as const) {
      for (const text of others) await message(page, text).waitFor({ timeout: 30_000 });
    }
    await shows(message(diallo, 'Bonjour à tous'), /Kouassi Yao · Substitut du procureur · .* · Côte d.Ivoire · WACAP/);
    await shows(message(yao, 'Merci. Côté Bamako'), /Fatoumata Traoré · .* · Mali · WACAP/);
    await shows(message(traore, 'Parfait. Je demande'), /Aminata Diallo · .* · Senegal · WACAP/);
    // A file in a room: every member's device can open it, checked intact.
    const attached = message(yao, 'Merci. Côté Bamako');
    const [saved] = await Promise.all([
      yao.waitForEvent('download', { timeout: 30_000 }),
      attached.getByRole('button', { name: 'Save societes-ecrans.pdf' }).click(),
    ]);
    expect((await readFile(await saved.path())).equals(statutes)).toBe(true);
    await shows(attached, 'Saved, checked intact.');
    // The sender sees each member's devices it reached.
    await shows(
      message(diallo, 'Parfait. Je demande'),
      /Delivered to (Kouassi Yao \(1 device\), Fatoumata Traoré \(1 device\)|Fatoumata Traoré \(1 device\), Kouassi Yao \(1 device\))/,
      30_000,
    );
    // Members write, administrators also manage: Yao has no Remove or Add button.
    expect(
      await members(yao)
        .getByRole('button', { name: /Remove/ })
        .count(),
    ).toBe(0);
    expect(await yao.getByRole('link', { name: 'Add a member' }).count()).toBe(0);
    await expectAccessible(traore);
  });

  it('an administrator adds a member, who gets what is sent from then on, and not what was said before', async () => {
    await diallo.getByRole('link', { name: 'Add a member' }).click();
    await diallo.getByRole('heading', { name: `Add a member to "${TITLE}"` }).waitFor();
    await shows(diallo.locator('main'), 'earlier messages are not sent to them');
    // Those already in the room are not offered again.
    await diallo.getByRole('button', { name: 'Add Awa Koné' }).waitFor({ timeout: 20_000 });
    expect(await diallo.getByRole('button', { name: 'Add Kouassi Yao' }).count()).toBe(0);
    await diallo.getByRole('button', { name: 'Add Awa Koné' }).click();
    await diallo.getByRole('heading', { name: TITLE, level: 2 }).waitFor({ timeout: 30_000 });

    for (const page of [diallo, yao, traore]) await shows(timeline(page), 'Aminata Diallo added Awa Koné', 30_000);
    await openRoom(kone);
    await shows(timeline(kone), 'Aminata Diallo added Awa Koné');
    await shows(members(kone), 'Members (4)');
    expect(await timeline(kone).innerText()).not.toContain('Bonjour à tous');

    await write(diallo, 'Bienvenue Madame Koné : vous suivrez le volet ivoirien.');
    await message(kone, 'Bienvenue Madame Koné').waitFor({ timeout: 30_000 });
    await shows(message(kone, 'Bienvenue Madame Koné'), /Aminata Diallo · .* · Senegal/);
  });

  it('an administrator takes a member out after a question naming them; they read what they had, and get nothing more', async () => {
    await members(diallo).getByRole('button', { name: 'Remove Kouassi Yao' }).click();
    const dialog = diallo.getByRole('alertdialog', { name: 'Remove Kouassi Yao from the room?' });
    await shows(dialog, 'Kouassi Yao will receive nothing sent to this room afterwards');
    await expectAccessible(diallo);
    await screen(diallo, 'room-remove');
    await dialog.getByRole('button', { name: 'Remove Kouassi Yao' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });

    for (const page of [diallo, traore, kone, yao])
      await shows(timeline(page), 'Aminata Diallo removed Kouassi Yao', 30_000);
    await shows(members(diallo), 'Members (3)');
    expect(await members(diallo).innerText()).not.toContain('Kouassi Yao');

    // Yao's page says so, keeps what came before, and offers nothing to write with.
    await shows(yao.locator('.room'), 'Aminata Diallo removed you from this room');
    await shows(yao.locator('.room'), 'you cannot write to it');
    await shows(timeline(yao), 'Bonjour à tous');
    expect(await yao.getByLabel('Message to every member').count()).toBe(0);
    expect(await yao.getByRole('button', { name: 'Leave the room' }).count()).toBe(0);
    await shows(yao.getByRole('link', { name: new RegExp(TITLE) }), 'No longer a member');
    await expectAccessible(yao);
    await screen(yao, 'room-removed');

    await write(diallo, 'Après le retrait : la saisie est prévue jeudi.');
    for (const page of [traore, kone]) await message(page, 'Après le retrait').waitFor({ timeout: 30_000 });
    // What reached the others has had every chance to reach Yao too: it did not.
    await yao.waitForTimeout(2000);
    expect(await timeline(yao).innerText()).not.toContain('Après le retrait');
    await expectAccessible(diallo);
    await screen(diallo, 'room');
  });

  it('an administrator renames the room; everyone sees the new title and who changed it', async () => {
    await diallo.getByRole('button', { name: 'Rename' }).click();
    await diallo.getByLabel('Title of the room').fill(RENAMED);
    await diallo.getByRole('button', { name: 'Save the new name' }).click();
    await diallo.getByRole('heading', { name: RENAMED, level: 2 }).waitFor({ timeout: 30_000 });
    for (const page of [diallo, traore, kone]) {
      await shows(timeline(page), `Aminata Diallo renamed the room "${RENAMED}" (case ${REFERENCE})`, 30_000);
      await page.getByRole('link', { name: new RegExp(RENAMED) }).waitFor();
    }
    // Taken out before it: Yao's copy keeps the old title.
    expect(await yao.getByRole('link', { name: new RegExp(TITLE) }).count()).toBe(1);
    expect(await yao.getByRole('link', { name: new RegExp(RENAMED) }).count()).toBe(0);
  });

  it('says the history is incomplete when a change did not reach this page, until a member sends it', async () => {
    // Mali's page is locked; the relay (here: its database) drops the next change on its way there.
    await reloadToLock(traore);
    await diallo.getByRole('button', { name: 'Rename' }).click();
    await diallo.getByLabel('Title of the room').fill(TITLE);
    await diallo.getByRole('button', { name: 'Save the new name' }).click();
    await shows(timeline(kone), `Aminata Diallo renamed the room "${TITLE}"`, 30_000);
    const dropped =
      await sql`delete from envelopes where recipient_device in (select device_id from devices where contact_point_id = ${net.traore.id})`.execute(
        database.db,
      );
    expect(Number(dropped.numAffectedRows)).toBe(1);
    await write(diallo, 'Titre rétabli : on garde « blanchiment ».');
    await message(kone, 'Titre rétabli').waitFor({ timeout: 30_000 });
    // The one who could send the missing change is away too.
    await reloadToLock(diallo);

    await unlock(traore);
    await openRoom(traore, RENAMED);
    const notice = traore.locator('.room-notice.incomplete');
    await shows(notice, "Part of this room's history has not reached this computer yet", 30_000);
    // The message that came after the missing change waits for it, unshown.
    expect(await timeline(traore).innerText()).not.toContain('Titre rétabli');
    await expectAccessible(traore);
    await screen(traore, 'room-incomplete');

    await unlock(diallo);
    await shows(timeline(traore), `Aminata Diallo renamed the room "${TITLE}"`, 30_000);
    await message(traore, 'Titre rétabli').waitFor({ timeout: 30_000 });
    await expect.poll(() => notice.count(), { timeout: 15_000 }).toBe(0);
    await traore.getByRole('heading', { name: TITLE, level: 2 }).waitFor();

    // Back to the new title for the steps that follow.
    await openRoom(diallo);
    await diallo.getByRole('button', { name: 'Rename' }).click();
    await diallo.getByLabel('Title of the room').fill(RENAMED);
    await diallo.getByRole('button', { name: 'Save the new name' }).click();
    for (const page of [diallo, traore, kone])
      await page.getByRole('heading', { name: RENAMED, level: 2 }).waitFor({ timeout: 30_000 });
  }, 180_000);

  it('keeps the room, its messages and its changes across a reload', async () => {
    await reloadAndUnlock(traore);
    await openRoom(traore, RENAMED);
    for (const text of [
      'Aminata Diallo opened the room',
      'Bonjour à tous',
      'Aminata Diallo added Awa Koné',
      'Aminata Diallo removed Kouassi Yao',
      'Après le retrait',
      'Aminata Diallo renamed the room',
      'Titre rétabli',
    ])
      await shows(timeline(traore), text);
    await shows(message(traore, 'Bonjour à tous'), /Kouassi Yao · .* · Côte d.Ivoire/);
  });

  it('reads in French and in Russian with every string translated', async () => {
    const check = async (page: Page, code: 'fr' | 'ru', what: string) => {
      const text = await page.locator('body').innerText();
      expect(englishLeftIn(text, code === 'fr' ? fr : ru), `${code} ${what}`).toEqual([]);
      expect(text, `${code} ${what}`).not.toMatch(/\{[a-zA-Z]+\}/);
    };
    await traore.getByLabel('Language').first().selectOption('fr');
    await shows(timeline(traore), `Aminata Diallo a renommé le salon « ${RENAMED} » (affaire ${REFERENCE})`);
    await shows(timeline(traore), 'Aminata Diallo a retiré Kouassi Yao');
    await shows(members(traore), 'Membres (3)');
    await check(traore, 'fr', 'room');
    await screen(traore, 'room-fr');

    await diallo.getByLabel('Language').first().selectOption('ru');
    await shows(timeline(diallo), 'Aminata Diallo исключил(а) из комнаты: Kouassi Yao');
    await shows(diallo.locator('.room-head'), '3 участника');
    await check(diallo, 'ru', 'room');
    await screen(diallo, 'room-ru');
    await members(diallo).getByRole('button', { name: 'Исключить: Awa Koné' }).click();
    const dialog = diallo.getByRole('alertdialog');
    await shows(dialog, 'Awa Koné не будет получать ничего');
    await check(diallo, 'ru', 'remove');
    await dialog.getByRole('button', { name: 'Отмена' }).click();
    await diallo.getByRole('link', { name: 'Новая комната' }).click();
    await diallo.getByRole('heading', { name: 'Новая комната по делу' }).waitFor();
    await diallo.getByRole('button', { name: 'Добавить в комнату: Kouassi Yao' }).click({ timeout: 20_000 });
    await check(diallo, 'ru', 'new room');
    await diallo.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await screen(diallo, 'room-create-ru');
    await diallo.getByLabel('Язык').first().selectOption('en');
    await traore.getByLabel('Langue').first().selectOption('en');
  });

  it('a member leaves after a question; the others see it, and the room stays readable for them', async () => {
    await kone.getByRole('button', { name: 'Leave the room' }).click();
    const dialog = kone.getByRole('alertdialog', { name: `Leave "${RENAMED}"?` });
    await shows(dialog, 'Nothing sent to this room afterwards will reach you');
    await dialog.getByRole('button', { name: 'Leave the room' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });
    await shows(kone.locator('.room'), 'You left this room');
    expect(await kone.getByLabel('Message to every member').count()).toBe(0);
    await shows(timeline(kone), 'Bienvenue Madame Koné');

    await openRoom(diallo, RENAMED);
    for (const page of [diallo, traore]) {
      await shows(timeline(page), 'Awa Koné left the room', 30_000);
      await shows(members(page), 'Members (2)');
    }
  });

  it('the only administrator is told to name another before leaving, and can', async () => {
    await diallo.getByRole('button', { name: 'Leave the room' }).click();
    await shows(diallo.getByRole('alert'), 'You are the only administrator of this room');
    expect(await diallo.getByRole('alertdialog').count()).toBe(0);
    await members(diallo).getByRole('button', { name: 'Make administrator: Fatoumata Traoré' }).click();
    await shows(timeline(traore), 'Aminata Diallo made Fatoumata Traoré an administrator', 30_000);
    await shows(members(traore), /Fatoumata Traoré \(you\)\s+Mali · Administrator/);
    await traore.getByRole('link', { name: 'Add a member' }).waitFor();

    await diallo.getByRole('button', { name: 'Leave the room' }).click();
    await diallo.getByRole('alertdialog').getByRole('button', { name: 'Leave the room' }).click();
    await shows(diallo.locator('.room'), 'You left this room', 30_000);
    await shows(timeline(traore), 'Aminata Diallo left the room', 30_000);
    await shows(members(traore), 'Members (1)');
    // Alone in the room, Traoré is told why nothing can be sent.
    await shows(traore.locator('form.compose'), 'Nobody else is in this room');
  });
});
