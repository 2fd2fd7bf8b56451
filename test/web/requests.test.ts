// Requests between authorities in Liaison Web (issue #24), in real Chromium against a relay whose
// key WACAP's manifest certifies: a prosecutor in Senegal opens a mutual legal assistance request
// from the conversation with her counterpart in Côte d'Ivoire; he sees it, acknowledges it and
// takes it through its statuses (one asking for further information, which she gives); her
// withdrawal, overtaken by his "executed", is refused in words; her timeline shows each status and
// each signed receipt; the case record she exports verifies offline against the network's root.
// French and Russian leave no English. Each screen is saved as a screenshot and scanned by axe.
import { readFile } from 'node:fs/promises';
import { type CaseRecord, ready } from '@liaison/client';
import { verifyRecord } from '@liaison/client/records';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fr } from '../../web/src/i18n/fr.js';
import { ru } from '../../web/src/i18n/ru.js';
import { launchChromium, withChromium } from '../harness/browser.js';
import { freshPostgresDatabase, type TestDatabase } from '../harness/databases.js';
import { freePort, type RelayProcess, spawnRelay } from '../harness/relay-process.js';
import { postgresService } from '../harness/services.js';
import {
  makeWebNetwork,
  practitionerPage,
  relaySigning,
  screen,
  skipAfterFirstFailure,
  WEB_DIST,
  type WebNetwork,
} from '../harness/web-practitioners.js';
import { englishLeftIn, enrol, expectAccessible, shows } from '../harness/web-steps.js';

const REFERENCE = 'SN-PRS-2026-0113';
const THEIR_REFERENCE = 'CI-PARQ-2026-077';
const LEGAL_BASIS = "Convention A/P1/7/92 de la CEDEAO relative à l'entraide judiciaire en matière pénale, art. 2";
const SUBJECT = 'Relevés bancaires, compte 0042-118';

const describeWeb = postgresService.url ? withChromium.describe : postgresService.describe;

describeWeb('Liaison Web: a request between two central authorities, with its evidence, in real Chromium', () => {
  let net: WebNetwork;
  let database: TestDatabase;
  let relay: RelayProcess;
  let browser: Browser;
  /** Senegal: the requesting side. */
  let diallo: Page;
  /** Côte d'Ivoire: the requested side. */
  let yao: Page;
  /** The name each browser gave itself at enrolment ("Browser <platform>"), as its certificate says. */
  let dialloDevice: string;
  let yaoDevice: string;

  beforeAll(async () => {
    [net, database, browser] = await Promise.all([
      makeWebNetwork(),
      freshPostgresDatabase(),
      launchChromium(),
      ready(),
    ]);
    const port = await freePort();
    const signing = await relaySigning(net, `http://127.0.0.1:${port}`);
    relay = await spawnRelay(
      [net.root],
      { LIAISON_DATABASE_URL: database.url as string, LIAISON_WEB_DIR: WEB_DIST, ...signing },
      { port },
    );
    diallo = (await practitionerPage(browser, relay.url)).page;
    yao = (await practitionerPage(browser, relay.url)).page;
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
    await database?.drop();
    await net?.close();
  });

  skipAfterFirstFailure();

  const history = (page: Page) => page.locator('.request-history');
  const head = (page: Page) => page.locator('.request-head');
  /** One step of the history: the n-th (from 1) whose heading says `what`. */
  const step = (page: Page, what: string | RegExp, n = 1): Locator =>
    history(page)
      .locator('li.request-step')
      .filter({ hasText: what })
      .nth(n - 1);
  const openRequest = async (page: Page) => {
    await page
      .locator('.sidebar')
      .getByRole('link', { name: /Mutual legal assistance/ })
      .click({ timeout: 30_000 });
    await page.getByRole('heading', { name: 'Request: Mutual legal assistance', level: 2 }).waitFor();
  };
  /** Yao states a status (and fills in what goes with it); resolves once it is a step of his history. */
  const state = async (status: string, fill: (page: Page) => Promise<void> = async () => undefined) => {
    const steps = history(yao)
      .locator('li.request-step')
      .filter({ hasText: `Kouassi Yao stated: ${status}` });
    const before = await steps.count();
    await yao.getByLabel('New status').selectOption({ label: status });
    await fill(yao);
    await yao.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => steps.count(), { timeout: 30_000 }).toBe(before + 1);
    // The step shows as soon as it is signed; the form is ready again (or gone, the request closed)
    // once the relay has it.
    const select = yao.getByLabel('New status');
    await expect
      .poll(async () => (await select.count()) === 0 || (await select.inputValue()) === '', { timeout: 30_000 })
      .toBe(true);
  };
  /** The name the page gave this browser at enrolment, as its device certificate says (enrol.tsx). */
  const deviceNameOf = (page: Page) =>
    page.evaluate(() => {
      const { navigator } = globalThis as unknown as {
        navigator: { platform: string; userAgentData?: { platform?: string } };
      };
      return `Browser ${navigator.userAgentData?.platform || navigator.platform}`.trim();
    });

  it('enrols both practitioners; Diallo writes to Yao from the directory', async () => {
    await Promise.all([enrol(diallo, relay.url, net.diallo), enrol(yao, relay.url, net.yao)]);
    [dialloDevice, yaoDevice] = await Promise.all([deviceNameOf(diallo), deviceNameOf(yao)]);
    for (const page of [diallo, yao]) await shows(page.locator('.sidebar'), 'No request yet.');
    await diallo.getByRole('link', { name: 'Directory' }).first().click();
    await diallo.getByLabel('Country (code, e.g. FR)').fill('CI');
    await diallo.getByRole('button', { name: 'Search', exact: true }).click();
    await diallo.getByRole('link', { name: 'Write to Kouassi Yao' }).click({ timeout: 20_000 });
    await diallo.getByLabel('Message', { exact: true }).fill('Bonjour Monsieur le Substitut, une demande suit.');
    await diallo.getByRole('button', { name: 'Send', exact: true }).click();
    await diallo.getByText(/Stored by the relay/).waitFor({ timeout: 30_000 });
  });

  it('opens a request from the conversation: kind, legal basis, references, deadline, text and a file', async () => {
    await diallo.getByRole('link', { name: 'New request' }).click();
    await diallo.getByRole('heading', { name: 'New request to Kouassi Yao' }).waitFor();
    await diallo.getByLabel('Kind of request').locator('option').first().waitFor({ state: 'attached' });
    const kinds = await diallo.getByLabel('Kind of request').locator('option').allTextContents();
    expect(kinds).toEqual([
      'Mutual legal assistance',
      'Extradition',
      'Preservation of data',
      'Spontaneous information',
      'Other request',
    ]);
    await diallo.getByLabel('Our reference').fill(REFERENCE);
    await diallo.getByLabel('Subject').fill(SUBJECT);
    await diallo
      .getByLabel('The request', { exact: true })
      .fill('Nous sollicitons les relevés du compte 0042-118 ouvert à la BICICI, du 1er mars au 30 juin 2026.');
    // Without its legal basis, a request is not sent: the page says so in its own words.
    await diallo.getByRole('button', { name: 'Send the request' }).click();
    await shows(diallo.getByRole('alert'), 'State the legal basis of the request.');
    await diallo.getByLabel('Legal basis').fill(LEGAL_BASIS);
    const due = new Date(Date.now() + 10 * 24 * 3600_000);
    const local = new Date(due.getTime() - due.getTimezoneOffset() * 60_000);
    await diallo.getByLabel('Deadline for execution (optional)').fill(local.toISOString().slice(0, 16));
    await diallo.getByLabel('Attach files').setInputFiles({
      name: 'ordonnance.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4 ordonnance du juge d’instruction'),
    });
    await diallo.getByLabel('Confidential').check();
    // Fixing what was missing takes the complaint away.
    expect(await diallo.getByRole('alert').count()).toBe(0);
    await expectAccessible(diallo);
    await diallo.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await screen(diallo, 'request-new');

    await diallo.getByRole('button', { name: 'Send the request' }).click();
    await diallo.getByRole('heading', { name: 'Request: Mutual legal assistance', level: 2 }).waitFor({
      timeout: 30_000,
    });
    await shows(head(diallo), 'Sent, no status yet');
    await shows(head(diallo), SUBJECT);
    const facts = diallo.locator('.request-facts');
    await shows(facts, /Requesting side\s+Aminata Diallo .*\(you\)\s+Reference: SN-PRS-2026-0113/);
    await shows(facts, /Requested side\s+Kouassi Yao · Substitut du procureur.*\s+Reference: not given/);
    await shows(facts, LEGAL_BASIS);
    const opened = step(diallo, 'Aminata Diallo opened the request');
    await shows(opened, '1 file attached');
    // The relay signed that it stored the request, with the key WACAP's manifest certifies.
    await shows(opened, /Stored by the relay .*, signed by the relay/, 30_000);
    await shows(opened, `signed by the device "${dialloDevice}"`);
    // Nothing the requesting side may not state is offered: it writes, or withdraws.
    expect(await diallo.getByLabel('New status').count()).toBe(0);
    await diallo.getByRole('button', { name: 'Withdraw the request' }).waitFor();
  });

  it('Yao sees it in his sidebar and conversation, marked as a request, and acknowledges it', async () => {
    const link = yao.locator('.sidebar').getByRole('link', { name: /Mutual legal assistance/ });
    await shows(link, `Aminata Diallo · ${REFERENCE}`, 30_000);
    await shows(link, 'Sent, no status yet');
    await shows(link, 'deadline');
    await yao.getByRole('link', { name: /Aminata Diallo.*unread/s }).click();
    const message = yao.getByRole('article', { name: /From Aminata Diallo/ }).filter({ hasText: 'Nous sollicitons' });
    await shows(message, 'Request: Mutual legal assistance');
    await shows(message, LEGAL_BASIS);
    await shows(yao.locator('.conversation-requests'), 'Requests with Aminata Diallo');
    await expectAccessible(yao);
    await screen(yao, 'request-conversation');

    await message.getByRole('link', { name: 'Request: Mutual legal assistance' }).click();
    await yao.getByRole('heading', { name: 'Request: Mutual legal assistance', level: 2 }).waitFor();
    await shows(yao.locator('.request-facts'), /Requested side\s+Kouassi Yao .*\(you\)/);
    // The requested side states any status but "withdrawn", which only the requesting side states.
    await yao.getByLabel('New status').locator('option').first().waitFor({ state: 'attached' });
    const offered = await yao.getByLabel('New status').locator('option').allTextContents();
    expect(offered).toEqual([
      'Choose a status',
      'Received',
      'Registered',
      'In execution',
      'Further information needed',
      'Partially executed',
      'Executed',
      'Refused',
      'No new status: a message only',
    ]);
    expect(await yao.getByRole('button', { name: 'Withdraw the request' }).count()).toBe(0);

    const opened = step(yao, 'Aminata Diallo opened the request');
    // His own device's receipt is there already: it received it, which is not reading it.
    await shows(opened, `Delivered to the device "${yaoDevice}" of Kouassi Yao`);
    await shows(opened, 'which does not mean a person read it');
    await opened.getByRole('button', { name: 'Acknowledge: I have read it' }).click();
    await shows(opened, 'Acknowledged by Kouassi Yao', 30_000);
    await expect.poll(() => opened.getByRole('button', { name: 'Acknowledge: I have read it' }).count()).toBe(0);

    // On Diallo's side: his device's signed receipt, then his own signed acknowledgement.
    const seen = step(diallo, 'Aminata Diallo opened the request');
    await shows(seen, `Delivered to the device "${yaoDevice}" of Kouassi Yao`, 30_000);
    await shows(seen, /Acknowledged by Kouassi Yao, .*: a person confirmed it, signed by the device/, 30_000);
  });

  it('Yao states received with his reference, in execution, then asks for further information', async () => {
    await state('Received', async (page) => {
      await page.getByLabel('Our reference').fill(THEIR_REFERENCE);
      await page.getByLabel('Message (optional)').fill('Bien reçue, enregistrée sous notre référence.');
    });
    await shows(head(yao), 'Received');
    await shows(yao.locator('.request-facts'), new RegExp(`\\(you\\)\\s+Reference: ${THEIR_REFERENCE}`));
    await state('In execution');
    // Grounds are asked for with "further information needed", and are optional there.
    await state('Further information needed', (page) =>
      page.getByLabel('What is needed (optional)').fill('Merci de préciser le titulaire du compte.'),
    );
    await expectAccessible(yao);
    await yao.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await screen(yao, 'request-requested');

    await shows(head(diallo), 'Further information needed', 30_000);
    await shows(
      diallo.locator('.request-facts'),
      new RegExp(`Requested side\\s+Kouassi Yao .*\\s+Reference: ${THEIR_REFERENCE}`),
    );
    const asked = step(diallo, 'Kouassi Yao stated: Further information needed');
    await shows(asked, 'Grounds');
    await shows(asked, 'Merci de préciser le titulaire du compte.');
    await shows(asked, `Delivered to the device "${dialloDevice}" of Aminata Diallo`);
    await shows(
      diallo.locator('.sidebar').getByRole('link', { name: /Mutual legal assistance/ }),
      'Further information needed',
    );
  });

  it('Diallo gives the information; Yao goes on and executes it', async () => {
    await diallo.getByLabel('Message', { exact: true }).fill('Le titulaire est la société SOCOGEM SARL.');
    await diallo.getByRole('button', { name: 'Send about this request' }).click();
    const answer = step(diallo, 'Aminata Diallo wrote about the request');
    await shows(answer, 'SOCOGEM SARL', 30_000);
    await shows(answer, `Delivered to the device "${yaoDevice}" of Kouassi Yao`, 30_000);
    await shows(step(yao, 'Aminata Diallo wrote about the request'), 'SOCOGEM SARL', 30_000);
    await state('In execution');
    await shows(head(diallo), 'In execution', 30_000);
  });

  it('a withdrawal the other side overtook is refused in words; nothing is offered once it is executed', async () => {
    await diallo.getByRole('button', { name: 'Withdraw the request' }).click();
    const dialog = diallo.getByRole('alertdialog', { name: 'Withdraw this request?' });
    await shows(dialog, 'Kouassi Yao will receive a signed statement that you withdraw it.');
    // Meanwhile, in Abidjan, the request is executed.
    await state('Executed', async (page) => {
      await page.getByLabel('Message (optional)').fill('Relevés transmis ce jour.');
      await page.getByLabel('Attach files').setInputFiles({
        name: 'releves-0042-118.pdf',
        mimeType: 'application/pdf',
        buffer: Buffer.from('%PDF-1.4 relevés'),
      });
    });
    await shows(head(diallo), 'Executed', 30_000);
    await dialog.getByRole('button', { name: 'Withdraw the request' }).click();
    await shows(dialog.getByRole('alert'), 'Not sent: the request is already closed (Executed).');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    for (const page of [diallo, yao]) {
      await shows(
        page.locator('.request-actions'),
        'This request is closed (Executed): no further status can be stated.',
      );
      expect(await page.getByRole('button', { name: 'Withdraw the request' }).count()).toBe(0);
      expect(await page.getByLabel('New status').count()).toBe(0);
    }
    expect(await history(diallo).innerText()).not.toContain('Withdrawn');
  });

  it("Diallo's timeline shows every step in order, each with its signed receipts", async () => {
    const order = [
      'Aminata Diallo opened the request',
      'Kouassi Yao stated: Received',
      'Kouassi Yao stated: In execution',
      'Kouassi Yao stated: Further information needed',
      'Aminata Diallo wrote about the request',
      'Kouassi Yao stated: In execution',
      'Kouassi Yao stated: Executed',
    ];
    await expect
      .poll(async () => await history(diallo).locator('li.request-step .step-head strong').allTextContents())
      .toEqual(order);
    const executed = step(diallo, 'Kouassi Yao stated: Executed');
    await shows(executed, 'Relevés transmis ce jour.');
    await shows(executed, '1 file attached');
    await shows(executed, `signed by the device "${yaoDevice}"`);
    await shows(executed, `Delivered to the device "${dialloDevice}" of Aminata Diallo`);
    // Her own messages: the relay's signed "stored", and his device's signed "delivered".
    for (const mine of [
      step(diallo, 'Aminata Diallo opened the request'),
      step(diallo, 'Aminata Diallo wrote about'),
    ]) {
      await shows(mine, /Stored by the relay .*, signed by the relay/);
      await shows(mine, `Delivered to the device "${yaoDevice}" of Kouassi Yao`);
    }
    await shows(head(diallo), 'Executed');
    await shows(diallo.locator('.sidebar').getByRole('link', { name: /Mutual legal assistance/ }), 'Executed');
    await expectAccessible(diallo);
    await diallo.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await screen(diallo, 'request');
    await step(diallo, 'Kouassi Yao stated: Further information needed').evaluate((li) => li.scrollIntoView());
    await screen(diallo, 'request-history');
    // In the conversation, each statement is a message marked with the request it is about.
    await diallo.getByRole('link', { name: 'Back to the conversation with Kouassi Yao' }).click();
    await shows(diallo.getByRole('log'), 'Request status: Executed');
    await shows(diallo.getByRole('log'), 'Request status: Further information needed');
  });

  it('exports the case record of the request and of the conversation; both verify offline against the root alone', async () => {
    await openRequest(diallo);
    const exporter = diallo.locator('.request-side .record-export');
    await shows(exporter, 'liaison record verify');
    await exporter.getByRole('button', { name: 'Export case record' }).click();
    await shows(exporter, /Case record ready: \d+ signed entries\./, 30_000);
    const [json] = await Promise.all([
      diallo.waitForEvent('download'),
      exporter.getByRole('link', { name: 'Save the case record (JSON)' }).click(),
    ]);
    expect(json.suggestedFilename()).toMatch(new RegExp(`^case-record-${REFERENCE}-\\d{4}-\\d{2}-\\d{2}\\.json$`));
    const record = JSON.parse(await readFile(await json.path(), 'utf8')) as CaseRecord;
    const verified = verifyRecord(record, { trustedRoots: [net.root] });
    if (!verified.ok) throw new Error(`the exported record does not verify: ${verified.reason}`);
    expect(verified.report.requests.map((r) => [r.status, r.references])).toEqual([
      ['executed', { requesting: REFERENCE, requested: THEIR_REFERENCE }],
    ]);
    const found = verified.report.findings.map((f) => f.what);
    expect(found.filter((w) => w === 'sent')).toHaveLength(7);
    expect(found).toContain('stored');
    expect(found).toContain('acknowledged');
    // One changed byte and it no longer verifies.
    const tampered = JSON.parse(JSON.stringify(record)) as CaseRecord;
    tampered.exportedAt += 1;
    expect(verifyRecord(tampered, { trustedRoots: [net.root] }).ok).toBe(false);

    const [html] = await Promise.all([
      diallo.waitForEvent('download'),
      exporter.getByRole('link', { name: 'Save a readable copy (HTML)' }).click(),
    ]);
    expect(html.suggestedFilename()).toMatch(/^case-record-SN-PRS-2026-0113-\d{4}-\d{2}-\d{2}\.html$/);
    const page = await readFile(await html.path(), 'utf8');
    expect(page).toContain(SUBJECT);
    expect(page).toContain('not that a person read it');
    await expectAccessible(diallo);
    await screen(diallo, 'request-export');

    // The whole conversation, the message before the request included.
    await diallo.getByRole('link', { name: 'Back to the conversation with Kouassi Yao' }).click();
    const whole = diallo.locator('.conversation-head .record-export');
    await whole.getByRole('button', { name: 'Export case record' }).click();
    const [conversation] = await Promise.all([
      diallo.waitForEvent('download', { timeout: 30_000 }),
      whole.getByRole('link', { name: 'Save the case record (JSON)' }).click({ timeout: 30_000 }),
    ]);
    expect(conversation.suggestedFilename()).toMatch(/^case-record-ci-mj\.yao-\d{4}-\d{2}-\d{2}\.json$/);
    const all = verifyRecord(JSON.parse(await readFile(await conversation.path(), 'utf8')), {
      trustedRoots: [net.root],
    });
    if (!all.ok) throw new Error(`the conversation's record does not verify: ${all.reason}`);
    expect(all.report.messages.map((m) => m.text)).toContain('Bonjour Monsieur le Substitut, une demande suit.');
  });

  it('reads in French and in Russian, with the legal terms and no English left', async () => {
    const check = async (page: Page, code: 'fr' | 'ru', what: string) => {
      const text = await page.locator('body').innerText();
      expect(englishLeftIn(text, code === 'fr' ? fr : ru), `${code} ${what}`).toEqual([]);
      expect(text, `${code} ${what}`).not.toMatch(/\{[a-zA-Z]+\}/);
    };
    await openRequest(diallo);
    await diallo.getByLabel('Language').first().selectOption('fr');
    await diallo.getByRole('heading', { name: 'Demande : Entraide judiciaire', level: 2 }).waitFor();
    await shows(head(diallo), 'Exécutée');
    await shows(diallo.locator('.request-facts'), 'Autorité requérante');
    await shows(history(diallo), "Kouassi Yao a déclaré : Complément d'information demandé");
    await shows(history(diallo), 'Réception accusée par Kouassi Yao');
    await check(diallo, 'fr', 'request');
    await diallo.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await screen(diallo, 'request-fr');
    await diallo.getByRole('link', { name: 'Retour à la conversation avec Kouassi Yao' }).click();
    await diallo.getByRole('link', { name: 'Nouvelle demande' }).click();
    // The form is drawn after the click: its options are read once there.
    await diallo.getByLabel('Type de demande').locator('option').first().waitFor({ state: 'attached' });
    expect(await diallo.getByLabel('Type de demande').locator('option').allTextContents()).toEqual([
      'Entraide judiciaire',
      'Extradition',
      'Conservation de données',
      "Transmission spontanée d'informations",
      'Autre demande',
    ]);
    await check(diallo, 'fr', 'new request');
    await screen(diallo, 'request-new-fr');
    await diallo.getByLabel('Langue').first().selectOption('en');

    await openRequest(yao);
    await yao.getByLabel('Language').first().selectOption('ru');
    await yao.getByRole('heading', { name: 'Запрос: Взаимная правовая помощь', level: 2 }).waitFor();
    await shows(head(yao), 'Исполнен');
    await shows(yao.locator('.request-facts'), 'Запрашиваемая сторона');
    await shows(history(yao), 'Kouassi Yao указал(а) статус: Требуется дополнительная информация');
    await shows(yao.locator('.request-actions'), 'Запрос закрыт (Исполнен)');
    await check(yao, 'ru', 'request');
    await yao.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await screen(yao, 'request-ru');
    await yao.getByRole('link', { name: 'К переписке: Aminata Diallo' }).click();
    await yao.getByRole('link', { name: 'Новый запрос' }).click();
    await yao.getByLabel('Вид запроса').locator('option').first().waitFor({ state: 'attached' });
    expect(await yao.getByLabel('Вид запроса').locator('option').allTextContents()).toEqual([
      'Взаимная правовая помощь',
      'Выдача (экстрадиция)',
      'Сохранение данных',
      'Спонтанная передача информации',
      'Иной запрос',
    ]);
    await check(yao, 'ru', 'new request');
    await yao.getByLabel('Язык').first().selectOption('en');
  });
});
