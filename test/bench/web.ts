/**
 * Liaison Web in real Chromium, served by a relay process (embedded PGlite) on loopback (issue 20):
 *   1. a first visit of `/`: every response's bytes on the wire (CDP Network events), per file;
 *   2. time to a usable page: first visit to the enrolment screen's file input; a returning device to
 *      the unlock screen, then from Unlock to the conversation list, beside Argon2id alone at the
 *      key store's cost in the same browser;
 *   3. a conversation of 10,000 messages written through the app's own History: time from the hash
 *      change to the newest message drawn, the `article` elements in the page, and scrolling to the
 *      top loading the bucket before.
 * Baselines in the same run: a bare static page on loopback (for load times) and a conversation of
 * one message (for opening). Times are taken in the page (performance.now() from its navigation,
 * or from the event that starts the step), up to the first frame after what is waited for appears.
 *
 *   npx tsx --conditions=@liaison/source test/bench/web.ts [--quick]   (part of npm run bench -w @liaison/test)
 *
 * Needs Chromium (/usr/bin/chromium, or LIAISON_CHROMIUM); no PostgreSQL. Writes bench-results/web.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BUCKET, type PartyName, type StoredMessage } from '../../web/src/state/history.js';
import { bundle, launchChromium, servePage } from '../harness/browser.js';
import { buildBeforeRun } from '../harness/build.js';
import { spawnRelay } from '../harness/relay-process.js';
import { FILE_PASSPHRASE, makeWebNetwork, type PractitionerFiles } from '../harness/web-practitioners.js';

buildBeforeRun();

const quick = process.argv.includes('--quick');
/** First visits of each page (a new browser profile each). */
const VISITS = quick ? 2 : 5;
/** Returning-device unlocks, and openings of each conversation (each after its own unlock). */
const UNLOCKS = quick ? 2 : 3;
const MESSAGES = 10_000;
/** Messages written per call into the page (a progress line after each). */
const CHUNK = 1000;
const STORE_PASSPHRASE = 'correct horse battery staple';
const web = resolve(import.meta.dirname, '../../web');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (x: number) => Math.round(x);
const log = (line: string) => console.error(`  ${line}`);

/** Builds the web app into `out` as `npm run build -w @liaison/web` does (web/build.ts), the bench variant with `bench`. */
async function buildWeb(out: string, bench: boolean): Promise<string> {
  const args = ['--import', 'tsx', 'build.ts', '--out', out, ...(bench ? ['--bench'] : [])];
  const { status, stderr } = spawnSync(process.execPath, args, { cwd: web, encoding: 'utf8' });
  if (status !== 0) throw new Error(`web build failed:\n${stderr}`);
  const assets = await readdir(join(out, 'assets'));
  const script = assets.find((name) => name.endsWith('.js')) as string;
  return readFile(join(out, 'assets', script), 'utf8');
}

/**
 * Records, in the page, when what a person waits for first appears and the first frame after it
 * (by then it is drawn and the main thread is free to take a click), and when a form is submitted.
 */
const MARKS = `
  window.__marks = {};
  const watched = { file: 'input[type=file]', unlock: 'input[type=password]', list: 'nav.sidebar' };
  new MutationObserver(() => {
    for (const [name, selector] of Object.entries(watched)) {
      if (name in window.__marks || !document.querySelector(selector)) continue;
      window.__marks[name] = performance.now();
      requestAnimationFrame(() => setTimeout(() => { window.__marks[name + 'Frame'] = performance.now(); }));
    }
  }).observe(document, { subtree: true, childList: true });
  addEventListener('submit', () => { window.__marks.submit ??= performance.now(); }, true);
`;
type Marks = Record<string, number>;
const marks = (page: Page) => page.evaluate(() => (globalThis as unknown as { __marks: Marks }).__marks);
const waitMark = (page: Page, name: string, timeout = 60_000) =>
  page.waitForFunction((n) => (globalThis as unknown as { __marks: Marks }).__marks[n] !== undefined, name, {
    timeout,
  });

/** A new browser profile, as the practitioner tests make one: nothing cached, nothing stored. */
async function newProfile(browser: Browser, origin: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    locale: 'en-GB',
    timezoneId: 'Africa/Dakar',
    viewport: { width: 1280, height: 860 },
  });
  await context.grantPermissions(['notifications'], { origin });
  await context.addInitScript(MARKS);
  return { context, page: await context.newPage() };
}

interface Received {
  url: string;
  status: number;
  encoding: string;
  cached: boolean;
  /** Bytes on the wire, headers included (encodedDataLength at loadingFinished). */
  wire: number;
  /** Bytes of the body once decoded. */
  body: number;
}

/** Every response the page receives from now on, as the debugging protocol's Network domain reports it. */
async function watchNetwork(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const seen = new Map<string, Received>();
  const fromCache = new Set<string>();
  cdp.on('Network.requestServedFromCache', ({ requestId }) => void fromCache.add(requestId));
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    const encoding = Object.entries(response.headers).find(([name]) => name.toLowerCase() === 'content-encoding');
    seen.set(requestId, {
      url: new URL(response.url).pathname,
      status: response.status,
      encoding: encoding ? String(encoding[1]) : 'identity',
      cached: Boolean(response.fromDiskCache) || fromCache.has(requestId),
      wire: 0,
      body: 0,
    });
  });
  cdp.on('Network.dataReceived', ({ requestId, dataLength }) => {
    const response = seen.get(requestId);
    if (response) response.body += dataLength;
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const response = seen.get(requestId);
    if (response) response.wire = encodedDataLength;
  });
  return {
    take(): Received[] {
      const responses = [...seen.values()];
      seen.clear();
      return responses;
    },
    stop: () => cdp.detach(),
  };
}

/** A first visit in a new profile: navigation until the first frame after `mark` appeared. */
async function firstVisit(browser: Browser, url: string, mark: string) {
  const { context, page } = await newProfile(browser, new URL(url).origin);
  try {
    const network = await watchNetwork(page);
    await page.goto(url);
    await waitMark(page, `${mark}Frame`);
    // Whatever the page still fetches once it is usable counts too.
    await page.waitForLoadState('networkidle');
    const m = await marks(page);
    const responses = network.take();
    await network.stop();
    return { appearedMs: m[mark] as number, usableMs: m[`${mark}Frame`] as number, responses };
  } finally {
    await context.close();
  }
}

async function enrol(page: Page, url: string, who: PractitionerFiles): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Your files (designation, authority certificate, account key)').setInputFiles(who.files);
  await page.getByText(`Verified: ${who.name}`).waitFor();
  await page.getByLabel('Passphrase of your account key file').fill(FILE_PASSPHRASE);
  await page.getByLabel('New passphrase', { exact: true }).fill(STORE_PASSPHRASE);
  await page.getByLabel('The same passphrase again').fill(STORE_PASSPHRASE);
  await page.getByRole('button', { name: 'Set up this browser' }).click();
  await connected(page);
}

const connected = (page: Page) =>
  page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 60_000 });

/**
 * The device comes back: a new navigation to the relay's `/` (from a blank page, so nothing of the
 * last document lingers), the unlock screen, the passphrase, the conversation list; then connected.
 */
async function unlockAgain(page: Page, url: string, options: { profile?: boolean } = {}) {
  await page.goto('about:blank');
  await page.goto(url);
  await waitMark(page, 'unlockFrame');
  await page.getByLabel('Passphrase for this browser').fill(STORE_PASSPHRASE);
  const cdp = options.profile ? await page.context().newCDPSession(page) : undefined;
  await cdp?.send('Profiler.enable');
  await cdp?.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp?.send('Profiler.start');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await waitMark(page, 'listFrame');
  const profile = (await cdp?.send('Profiler.stop'))?.profile;
  await cdp?.detach();
  const m = await marks(page);
  await connected(page);
  return {
    toUnlockMs: m.unlockFrame as number,
    unlockToListMs: (m.listFrame as number) - (m.submit as number),
    ...(profile && { inWasmMs: wasmMs(profile) }),
  };
}

/**
 * Milliseconds a CPU profile spent in WebAssembly. While unlocking, the page's WebAssembly is
 * libsodium, and all but microseconds of it the one Argon2id derivation: this is Argon2id's share
 * measured inside the unlock itself.
 */
function wasmMs(profile: {
  nodes: { id: number; callFrame: { url: string } }[];
  samples?: number[];
  timeDeltas?: number[];
}): number {
  const wasm = new Set(profile.nodes.filter((n) => n.callFrame.url.startsWith('wasm://')).map((n) => n.id));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let us = 0;
  // A sample's time is the delta to the next one.
  for (let i = 0; i < samples.length - 1; i++) if (wasm.has(samples[i] as number)) us += deltas[i + 1] ?? 0;
  return us / 1000;
}

interface Bench {
  liaisonBench: {
    session: {
      history: { add(message: StoredMessage, peer: PartyName, options?: { unread?: boolean }): Promise<void> };
    };
  };
}

/**
 * Writes incoming messages `from`..`to` (numbered from 1) of a conversation with `party` through the
 * app's History, one `add` at a time as messages arrive; resolves with the milliseconds it took.
 */
function writeMessages(page: Page, party: PartyName, from: number, to: number, total: number): Promise<number> {
  return page.evaluate(
    async ({ party, from, to, total }) => {
      const { history } = (globalThis as unknown as Bench).liaisonBench.session;
      const sentences = [
        'Nous accusons réception de votre demande d’entraide et la transmettons au juge d’instruction compétent.',
        'Please find the bank statements for the period requested; the account holder has not been informed.',
        'Le gel des avoirs a été ordonné ce matin ; la banque confirme l’exécution de la mesure.',
        'Could you confirm the hearing date, so that the witness can be heard by video link?',
        'Les pièces complémentaires seront envoyées par la voie diplomatique dans les meilleurs délais.',
      ];
      const references = Array.from({ length: 20 }, (_, k) => `CI-PRS-2026-${String(k + 1).padStart(4, '0')}`);
      const started = performance.now();
      for (let i = from; i <= to; i++) {
        await history.add(
          {
            messageId: crypto.randomUUID(),
            peer: party.contactPointId,
            direction: 'in',
            at: Date.now() - (total - i) * 60_000,
            ...(i % 10 === 1 && { subject: `Demande n° ${i}` }),
            ...(i % 25 === 0 && { reference: references[i % references.length] }),
            ...(i % 40 === 0 && { handling: ['no-court-use-without-permission' as const] }),
            language: 'fr',
            text: `[${i}] ${sentences[i % sentences.length]} ${sentences[(i * 7) % sentences.length]}`,
            priority: 'normal',
            sender: { ...party, deviceName: 'Bureau du parquet' },
            state: 'stored',
          },
          party,
          { unread: false },
        );
      }
      return performance.now() - started;
    },
    { party, from, to, total },
  );
}

/**
 * Opens a conversation by its hash, as a click in the list does: from the hash change until the
 * first frame after its newest message (`[newest]`) is in the page; with the `article` elements then.
 */
function openConversation(page: Page, peer: string, newest: number) {
  return page.evaluate(
    ({ peer, newest }) =>
      new Promise<{ appearedMs: number; drawnMs: number; articles: number }>((done) => {
        const doc = (globalThis as unknown as { document: DocumentLike }).document;
        const started = performance.now();
        // No named function in here: tsx would wrap it in a helper the page does not have.
        const observer = new (globalThis as unknown as { MutationObserver: ObserverLike }).MutationObserver(() => {
          const articles = doc.querySelectorAll('.messages article');
          if (!articles[articles.length - 1]?.textContent?.includes(`[${newest}]`)) return;
          observer.disconnect();
          const appearedMs = performance.now() - started;
          requestAnimationFrame(() =>
            setTimeout(() =>
              done({
                appearedMs,
                drawnMs: performance.now() - started,
                articles: doc.querySelectorAll('article').length,
              }),
            ),
          );
        });
        observer.observe(doc.body, { subtree: true, childList: true });
        (globalThis as unknown as { location: { hash: string } }).location.hash = `#/c/${encodeURIComponent(peer)}`;
      }),
    { peer, newest },
  );
}

/** Scrolls the open conversation to its top: until the bucket before is in the page, and what the first message then is. */
function scrollToTop(page: Page) {
  return page.evaluate(
    () =>
      new Promise<{ before: number; after: number; ms: number; first: string; scrollTop: number }>((done) => {
        const doc = (globalThis as unknown as { document: DocumentLike }).document;
        const list = doc.querySelector('.messages') as ElementLike;
        const before = doc.querySelectorAll('article').length;
        const started = performance.now();
        const observer = new (globalThis as unknown as { MutationObserver: ObserverLike }).MutationObserver(() => {
          const articles = doc.querySelectorAll('article');
          if (articles.length <= before) return;
          observer.disconnect();
          requestAnimationFrame(() =>
            setTimeout(() =>
              done({
                before,
                after: doc.querySelectorAll('article').length,
                ms: performance.now() - started,
                first: (articles[0]?.querySelector('.text')?.textContent ?? '').slice(0, 12),
                scrollTop: list.scrollTop,
              }),
            ),
          );
        });
        observer.observe(list, { subtree: true, childList: true });
        list.scrollTop = 0;
      }),
  );
}

// The few DOM shapes the page functions above use (the bench's own types are Node's, without the DOM).
interface ElementLike {
  textContent: string | null;
  scrollTop: number;
  querySelector(selector: string): ElementLike | null;
}
interface DocumentLike {
  body: unknown;
  querySelector(selector: string): ElementLike | null;
  querySelectorAll(selector: string): ArrayLike<ElementLike>;
}
type ObserverLike = new (
  callback: () => void,
) => { observe(target: unknown, options: object): void; disconnect(): void };
declare function requestAnimationFrame(callback: () => void): number;

/** JavaScript heap in use after a collection, and what the origin stores (IndexedDB, mostly). */
async function footprint(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.detach();
  const stored = await page.evaluate(
    async () =>
      (
        await (
          globalThis as unknown as { navigator: { storage: { estimate(): Promise<{ usage?: number }> } } }
        ).navigator.storage.estimate()
      ).usage ?? 0,
  );
  return { heapMb: usedSize / 1e6, storedMb: stored / 1e6 };
}

const started = Date.now();
const dir = await mkdtemp(join(tmpdir(), 'liaison-web-bench-'));
const [productionJs, benchJs] = await Promise.all([
  buildWeb(join(dir, 'production'), false),
  buildWeb(join(dir, 'bench'), true),
]);
// The hook exists in the bench variant only: esbuild drops it from the production bundle.
if (productionJs.includes('liaisonBench')) throw new Error('the production bundle contains the bench hook');
if (!benchJs.includes('liaisonBench')) throw new Error('the bench variant lacks its hook');

const [net, browser, argon2Page] = await Promise.all([
  makeWebNetwork(),
  launchChromium(),
  bundle(resolve(import.meta.dirname, 'web-argon2-page.ts')),
]);
const bare = await servePage(
  "const input = document.createElement('input'); input.type = 'file'; document.body.append(input);",
);
const argon2Server = await servePage(argon2Page.code, {
  'Content-Security-Policy': "script-src 'self' 'wasm-unsafe-eval'",
});
const yao: PartyName = {
  contactPointId: net.yao.id,
  displayName: net.yao.name,
  role: 'Substitut du procureur',
  authorityName: "Ministère de la Justice de Côte d'Ivoire",
  country: 'CI',
  networkName: 'WACAP',
  timeZone: 'Africa/Abidjan',
};
const desk: PartyName = { ...yao, contactPointId: net.desk.id, displayName: net.desk.name, role: 'Duty desk' };
// Only in this browser's history (the app names a counterpart from it): the one-bucket baseline.
const registry: PartyName = {
  ...yao,
  contactPointId: 'ci-mj.greffe',
  displayName: 'Greffe du tribunal d’Abidjan',
  role: 'Greffier en chef',
};
/**
 * The conversations opened: the long one, and two baselines: one message (the screen's own cost),
 * and one full bucket (the same page as the long one draws, from a short history).
 */
const conversations = [
  { party: yao, count: MESSAGES, target: `${MESSAGES.toLocaleString('en')} messages` },
  { party: desk, count: 1, target: '1 message (baseline)' },
  { party: registry, count: BUCKET, target: `${BUCKET} messages, one bucket (baseline)` },
];

try {
  // 1 and 2, on the production build.
  let relay = await spawnRelay([net.root], { LIAISON_WEB_DIR: join(dir, 'production') });
  const visits: Awaited<ReturnType<typeof firstVisit>>[] = [];
  const bareVisits: Awaited<ReturnType<typeof firstVisit>>[] = [];
  const returns: Awaited<ReturnType<typeof unlockAgain>>[] = [];
  let returnTransfer: Received[] = [];
  let profiled: Awaited<ReturnType<typeof unlockAgain>> | undefined;
  const argon2: number[] = [];
  const argon2Again: number[] = [];
  try {
    // Alternating, so that neither gets the quieter moments of the machine.
    for (let i = 0; i < VISITS; i++) {
      bareVisits.push(await firstVisit(browser, `${bare.origin}/`, 'file'));
      visits.push(await firstVisit(browser, `${relay.url}/`, 'file'));
      log(
        `first visit ${i + 1}: bare page ${ms(bareVisits[i]?.usableMs as number)} ms, Liaison Web ${ms(visits[i]?.usableMs as number)} ms`,
      );
    }

    const device = await newProfile(browser, relay.url);
    await enrol(device.page, `${relay.url}/`, net.diallo);
    const network = await watchNetwork(device.page);
    for (let i = 0; i < UNLOCKS; i++) {
      returns.push(await unlockAgain(device.page, `${relay.url}/`));
      if (i === 0) returnTransfer = network.take().filter((r) => !r.url.startsWith('/socket.io'));
      log(
        `returning device ${i + 1}: unlock screen ${ms(returns[i]?.toUnlockMs as number)} ms, Unlock to the list ${ms(returns[i]?.unlockToListMs as number)} ms`,
      );
    }
    await network.stop();
    // One more, under the CPU profiler (which slows it a little): how much of it ran in WebAssembly.
    profiled = await unlockAgain(device.page, `${relay.url}/`, { profile: true });
    log(
      `profiled unlock: Unlock to the list ${ms(profiled.unlockToListMs)} ms, ${ms(profiled.inWasmMs ?? 0)} ms of it in WebAssembly`,
    );
    await device.context.close();

    // Each unlock runs in a new document of the same tab, whose first Argon2id also grows
    // WebAssembly memory by 64 MiB: measured likewise, the first derivation after a navigation to
    // the page in one tab (after one round not counted, as the device's tab had navigated before),
    // and a second one in the same document for comparison.
    const context = await browser.newContext();
    const page = await context.newPage();
    for (let i = -1; i < UNLOCKS; i++) {
      await page.goto('about:blank');
      await page.goto(`${argon2Server.origin}/`);
      await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
      const derive = () => page.evaluate(() => (globalThis as unknown as { argon2id: () => number }).argon2id());
      const [first, again] = [await derive(), await derive()];
      if (i < 0) continue;
      argon2.push(first);
      argon2Again.push(again);
    }
    await context.close();
    log(
      `Argon2id alone, first in a document: ${argon2.map(ms).join(', ')} ms; again: ${argon2Again.map(ms).join(', ')} ms`,
    );
  } finally {
    await relay.stop();
  }

  // 3, on the bench variant (its relay, its own database and device).
  relay = await spawnRelay([net.root], { LIAISON_WEB_DIR: join(dir, 'bench') });
  const writes: { upTo: number; msPerMessage: number }[] = [];
  const opens: { target: string; appearedMs: number; drawnMs: number; articles: number }[] = [];
  const longReturns: Awaited<ReturnType<typeof unlockAgain>>[] = [];
  let scroll: Awaited<ReturnType<typeof scrollToTop>> | undefined;
  const footprints: { target: string; heapMb: number; storedMb: number }[] = [];
  try {
    const device = await newProfile(browser, relay.url);
    const { page } = device;
    await enrol(page, `${relay.url}/`, net.diallo);
    await writeMessages(page, desk, 1, 1, 1);
    await writeMessages(page, registry, 1, BUCKET, BUCKET);
    for (let from = 1; from <= MESSAGES; from += CHUNK) {
      const to = Math.min(MESSAGES, from + CHUNK - 1);
      const took = await writeMessages(page, yao, from, to, MESSAGES);
      writes.push({ upTo: to, msPerMessage: took / (to - from + 1) });
      log(`written ${to} messages (${(took / (to - from + 1)).toFixed(1)} ms each for the last ${to - from + 1})`);
    }
    // Each opening follows an unlock of its own: the history's cache is empty, as after a reload.
    for (let i = 0; i < UNLOCKS; i++) {
      // In turn, each first in one round: none always gets the quieter moments.
      const order = [...conversations.slice(i % 3), ...conversations.slice(0, i % 3)];
      for (const { party, count, target } of order) {
        const back = await unlockAgain(page, `${relay.url}/`);
        const long = party === yao;
        if (long) longReturns.push(back);
        const open = await openConversation(page, party.contactPointId, count);
        if (open.articles !== Math.min(count, BUCKET))
          throw new Error(`${open.articles} messages in the page on opening ${target}`);
        opens.push({ target, ...open });
        log(`open ${target}: ${ms(open.drawnMs)} ms, ${open.articles} articles`);
        if (i === 0) footprints.push({ target, ...(await footprint(page)) });
        if (long && i === UNLOCKS - 1) {
          scroll = await scrollToTop(page);
          // The bucket before, and only it: with 10,000 messages, 9,601 to 9,800 above the newest 200.
          const first = MESSAGES - 2 * BUCKET + 1;
          if (scroll.after !== 2 * BUCKET || !scroll.first.startsWith(`[${first}]`))
            throw new Error(`after scrolling up: ${scroll.after} messages, the first ${scroll.first}`);
        }
      }
    }
    await device.context.close();
  } finally {
    await relay.stop();
  }

  // Figures.
  const listed = (visits[0] as (typeof visits)[number]).responses;
  const total = (responses: Received[]) => responses.reduce((sum, r) => sum + r.wire, 0);
  const visitMs = median(visits.map((v) => v.usableMs));
  const bareMs = median(bareVisits.map((v) => v.usableMs));
  const unlockMs = median(returns.map((r) => r.unlockToListMs));
  const argon2Ms = median(argon2);
  const openMs = (target: string) => median(opens.filter((o) => o.target === target).map((o) => o.drawnMs));
  const shortOpen = openMs(conversations[1]?.target as string);
  const perMessage = writes.reduce((sum, w) => sum + w.msPerMessage, 0) / writes.length;

  console.error(
    `\nLiaison Web, Chromium ${browser.version()}, loopback, relay on PGlite; medians of ${VISITS} first visits, ${UNLOCKS} unlocks`,
  );
  console.error('First visit of / : every response');
  console.table(
    listed.map((r) => ({
      file: r.url,
      status: r.status,
      encoding: r.encoding,
      'on the wire KB': (r.wire / 1000).toFixed(1),
      'decoded KB': (r.body / 1000).toFixed(1),
    })),
  );
  console.error(
    `total on the wire: ${(total(listed) / 1000).toFixed(1)} KB (goal ≤ 1,000 KB); largest of the ${VISITS} visits ${(Math.max(...visits.map((v) => total(v.responses))) / 1000).toFixed(1)} KB; a returning device, navigation to connected: ${(total(returnTransfer) / 1000).toFixed(1)} KB in ${returnTransfer.length} responses (${returnTransfer.filter((r) => r.cached).length} from its cache)`,
  );
  console.table([
    { step: 'bare static page: navigation → its file input (baseline)', ms: ms(bareMs), ratio: '1.0' },
    {
      step: 'first visit: navigation → the enrolment file input',
      ms: ms(visitMs),
      ratio: (visitMs / bareMs).toFixed(1),
    },
    {
      step: 'returning device: navigation → the unlock screen',
      ms: ms(median(returns.map((r) => r.toUnlockMs))),
      ratio: (median(returns.map((r) => r.toUnlockMs)) / bareMs).toFixed(1),
    },
    { step: 'Unlock → the conversation list (empty history)', ms: ms(unlockMs), ratio: '' },
    {
      step: `  of which Argon2id (alone, same cost, same browser; ${ms(median(argon2Again))} ms warm)`,
      ms: ms(argon2Ms),
      ratio: `${Math.round((100 * argon2Ms) / unlockMs)}% of unlocking`,
    },
    {
      step: '  a profiled unlock: all of it, and its time in WebAssembly (Argon2id)',
      ms: `${ms(profiled?.unlockToListMs ?? Number.NaN)}, ${ms(profiled?.inWasmMs ?? Number.NaN)}`,
      ratio: `${Math.round((100 * (profiled?.inWasmMs ?? Number.NaN)) / (profiled?.unlockToListMs ?? Number.NaN))}% of unlocking`,
    },
    {
      step: `Unlock → the conversation list (${MESSAGES.toLocaleString('en')} messages stored)`,
      ms: ms(median(longReturns.map((r) => r.unlockToListMs))),
      ratio: '',
    },
  ]);
  console.table([
    ...[1, 2, 0].map((k) => {
      const { target } = conversations[k] as (typeof conversations)[number];
      return {
        step: `open a conversation of ${target}: hash change → newest message drawn`,
        ms: ms(openMs(target)),
        ratio: (openMs(target) / shortOpen).toFixed(1),
        articles: opens
          .filter((o) => o.target === target)
          .map((o) => o.articles)
          .join(', '),
      };
    }),
    {
      step: `scroll to the top: the bucket before drawn (first message now ${scroll?.first.split(' ')[0]})`,
      ms: ms(scroll?.ms ?? Number.NaN),
      ratio: '',
      articles: `${scroll?.before} → ${scroll?.after}`,
    },
  ]);
  console.error(
    `writing ${MESSAGES.toLocaleString('en')} messages through History.add: ${perMessage.toFixed(1)} ms each on average (${writes.map((w) => w.msPerMessage.toFixed(1)).join(', ')} per ${CHUNK}); ${footprints.map((f) => `${f.target}: heap ${f.heapMb.toFixed(1)} MB`).join(', ')}; stored ${footprints[0]?.storedMb.toFixed(1)} MB; run ${Math.round((Date.now() - started) / 1000)} s`,
  );

  await mkdir('bench-results', { recursive: true });
  await writeFile(
    'bench-results/web.json',
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        chromium: browser.version(),
        quick,
        firstLoad: { responses: listed, totalWire: total(listed), visits: visits.map((v) => total(v.responses)) },
        returnTransfer,
        firstVisit: {
          baselineMs: bareVisits.map((v) => v.usableMs),
          appMs: visits.map((v) => v.usableMs),
          appearedMs: visits.map((v) => v.appearedMs),
        },
        returning: returns,
        profiledUnlock: profiled,
        returningWithLongHistory: longReturns,
        argon2Ms: argon2,
        argon2WarmMs: argon2Again,
        writes,
        opens,
        scroll,
        footprints,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await browser.close();
  await bare.close();
  await argon2Server.close();
  await net.close();
  await rm(dir, { recursive: true, force: true });
}
