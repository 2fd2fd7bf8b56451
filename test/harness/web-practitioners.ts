// What the web app's tests start from: the files a network's secretariat and two authorities make
// with the `liaison` CLI (as the README's walkthrough does), a relay that serves the built web app,
// and a browser profile per practitioner. Everything a practitioner does then goes through the page.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  certifyDevice,
  generateIdentityKeyPair,
  MemoryKeyStore,
  openKeyFile,
  ready,
  rotateSignedPrekey,
} from '@liaison/client';
import { type CertificateChain, encodeBase64url, type TrustedRoot } from '@liaison/protocol';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterEach, beforeEach } from 'vitest';
import { SCREENSHOTS } from './browser.js';
import { register } from './device-client.js';

const exec = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const liaison = join(repo, 'node_modules/.bin/liaison');
export const WEB_DIST = join(repo, 'web/dist');
export const DOCS_SCREENSHOTS = join(repo, 'docs/screenshots');
/** The passphrase of every key file the CLI writes here. */
export const FILE_PASSPHRASE = 'a long demo passphrase';

export interface PractitionerFiles {
  id: string;
  name: string;
  /** The files the practitioner is handed: designation, authority certificate, account key. */
  files: string[];
}

export interface WebNetwork {
  dir: string;
  root: TrustedRoot;
  diallo: PractitionerFiles;
  yao: PractitionerFiles;
  /** Yao's duty desk: the escalation level after Yao, a device set up by the CLI (a key store for an agency tool). */
  desk: PractitionerFiles & { store: string; device: string };
  /** A root file with WACAP's id and name but another key: a page must not take it from dropped files. */
  rogueRoot: string;
  /** Yao designated again by the authority, with a new account key (a lost key, a new laptop). */
  yaoAgain: PractitionerFiles;
  /** A colleague of Yao's whose only device predates hybrid sessions (registerDeviceBeforeHybrid). */
  kone: PractitionerFiles;
  /** A prosecutor in Mali: the third country of the case-room tests. */
  traore: PractitionerFiles;
  /** Runs the `liaison` CLI in the network's folder, as an administrator there would. */
  cli(...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * WACAP (West African Central Authorities and Prosecutors network): Senegal's, Côte d'Ivoire's and
 * Mali's ministries of justice, a prosecutor in each, and the Ivorian duty desk in Yao's escalation chain.
 */
export async function makeWebNetwork(): Promise<WebNetwork> {
  const dir = await mkdtemp(join(tmpdir(), 'liaison-web-'));
  await writeFile(join(dir, 'passphrase'), `${FILE_PASSPHRASE}\n`);
  const run = (...args: string[]) => exec(liaison, [...args, '--passphrase-file', 'passphrase'], { cwd: dir });
  const designate = (authority: string, ...args: string[]) =>
    run(
      'contact',
      'designate',
      '--authority-cert',
      `${authority}.authority.json`,
      '--authority-key',
      `${authority}.key`,
      ...args,
    );

  await run('network', 'init', '--id', 'wacap', '--name', 'WACAP', '--out', 'wacap');
  // Someone else's root under the same network id, as an "enrolment package" from an attacker would carry.
  await run('network', 'init', '--id', 'wacap', '--name', 'WACAP', '--out', 'rogue');
  await Promise.all(['sn-mj', 'ci-mj', 'ml-mj'].map((authority) => run('key', 'new', '--out', authority)));
  const issueAuthority = (id: string, country: string, name: string) =>
    run(
      'authority',
      'issue',
      '--root',
      'wacap.root.json',
      '--root-key',
      'wacap.key',
      '--id',
      id,
      '--country',
      country,
      '--name',
      name,
      '--public-key',
      `${id}.pub`,
      '--out',
      `${id}.authority.json`,
    );
  await issueAuthority('sn-mj', 'SN', 'Ministère de la Justice du Sénégal');
  await issueAuthority('ci-mj', 'CI', "Ministère de la Justice de Côte d'Ivoire");
  await issueAuthority('ml-mj', 'ML', 'Ministère de la Justice du Mali');
  await Promise.all(
    ['diallo', 'yao', 'desk', 'yao-again', 'kone', 'traore'].map((name) => run('key', 'new', '--out', name)),
  );
  await designate(
    'sn-mj',
    '--id',
    'sn-mj.diallo',
    '--name',
    'Aminata Diallo',
    '--role',
    'Procureure de la République',
    '--languages',
    'fr,wo',
    '--competences',
    'mla,extradition',
    '--time-zone',
    'Africa/Dakar',
    '--account-key',
    'diallo.pub',
    '--out',
    'diallo.contact.json',
  );
  await designate(
    'ci-mj',
    '--id',
    'ci-mj.permanence',
    '--kind',
    'duty-desk',
    '--name',
    'Permanence du parquet d’Abidjan',
    '--role',
    'Duty desk',
    '--languages',
    'fr',
    '--competences',
    'mla,evidence-preservation',
    '--time-zone',
    'Africa/Abidjan',
    '--account-key',
    'desk.pub',
    '--out',
    'desk.contact.json',
  );
  const yaoDesignation = (accountKey: string, out: string) =>
    designate(
      'ci-mj',
      '--id',
      'ci-mj.yao',
      '--name',
      'Kouassi Yao',
      '--role',
      'Substitut du procureur',
      '--languages',
      'fr,en',
      '--competences',
      'mla,asset-recovery',
      '--time-zone',
      'Africa/Abidjan',
      '--escalation',
      'ci-mj.permanence',
      '--account-key',
      accountKey,
      '--out',
      out,
    );
  await yaoDesignation('yao.pub', 'yao.contact.json');
  await designate(
    'ci-mj',
    '--id',
    'ci-mj.kone',
    '--name',
    'Awa Koné',
    '--role',
    'Substitute du procureur',
    '--languages',
    'fr',
    '--competences',
    'mla',
    '--time-zone',
    'Africa/Abidjan',
    '--account-key',
    'kone.pub',
    '--out',
    'kone.contact.json',
  );
  await designate(
    'ml-mj',
    '--id',
    'ml-mj.traore',
    '--name',
    'Fatoumata Traoré',
    '--role',
    'Procureure du Pôle économique et financier',
    '--languages',
    'fr,bm',
    '--competences',
    'mla,asset-recovery',
    '--time-zone',
    'Africa/Bamako',
    '--account-key',
    'traore.pub',
    '--out',
    'traore.contact.json',
  );
  await yaoDesignation('yao-again.pub', 'yao-again.contact.json');
  await run('device', 'new', '--out', 'desk-pc');
  await run(
    'device',
    'certify',
    '--contact-cert',
    'desk.contact.json',
    '--account-key',
    'desk.key',
    '--device-key',
    'desk-pc.pub',
    '--name',
    'Duty desk PC',
    '--out',
    'desk-pc.device.json',
  );

  const files = (name: string, authority: string) =>
    [`${name}.contact.json`, `${authority}.authority.json`, `${name}.key`].map((f) => join(dir, f));
  return {
    dir,
    root: JSON.parse(await readFile(join(dir, 'wacap.root.json'), 'utf8')) as TrustedRoot,
    diallo: { id: 'sn-mj.diallo', name: 'Aminata Diallo', files: files('diallo', 'sn-mj') },
    yao: { id: 'ci-mj.yao', name: 'Kouassi Yao', files: files('yao', 'ci-mj') },
    desk: {
      id: 'ci-mj.permanence',
      name: 'Permanence du parquet d’Abidjan',
      files: files('desk', 'ci-mj'),
      store: join(dir, 'desk-pc.store'),
      device: join(dir, 'desk-pc.device.json'),
    },
    rogueRoot: join(dir, 'rogue.root.json'),
    yaoAgain: { id: 'ci-mj.yao', name: 'Kouassi Yao', files: files('yao-again', 'ci-mj') },
    kone: { id: 'ci-mj.kone', name: 'Awa Koné', files: files('kone', 'ci-mj') },
    traore: { id: 'ml-mj.traore', name: 'Fatoumata Traoré', files: files('traore', 'ml-mj') },
    cli: run,
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * What makes the relay at `origin` sign its "stored at" receipts, as a network's secretariat sets
 * it up with the CLI: the relay's signing key (`liaison relay key`) and WACAP's manifest naming it,
 * signed by the root (`liaison network manifest`). Pages check those receipts against the manifest
 * under the root they trust. Environment variables for `spawnRelay`, with `{ port }` of `origin`.
 */
export async function relaySigning(net: WebNetwork, origin: string): Promise<Record<string, string>> {
  const made = await exec(liaison, ['relay', 'key', '--out', 'relay-key.json'], { cwd: net.dir });
  const key = /^Public key: (\S+)$/m.exec(made.stdout)?.[1];
  if (!key) throw new Error(`liaison relay key printed no key: ${made.stdout}${made.stderr}`);
  await net.cli(
    'network',
    'manifest',
    '--root',
    'wacap.root.json',
    '--root-key',
    'wacap.key',
    '--version',
    '1',
    '--authorities',
    'sn-mj,ci-mj,ml-mj',
    '--relay',
    `${origin}=${key}`,
    '--out',
    'wacap.manifest.json',
  );
  return {
    LIAISON_RELAY_KEY: join(net.dir, 'relay-key.json'),
    LIAISON_NETWORK_MANIFESTS: join(net.dir, 'wacap.manifest.json'),
  };
}

/**
 * Registers a device of Awa Koné's as an SDK from before hybrid sessions did: a certificate
 * without capabilities, prekeys without any KEM prekey. Messages to it go classically.
 */
export async function registerDeviceBeforeHybrid(net: WebNetwork, relayUrl: string): Promise<void> {
  await ready();
  const [contactFile, authorityFile, keyFile] = net.kone.files as [string, string, string];
  const read = async (file: string) => JSON.parse(await readFile(file, 'utf8'));
  const [contactPoint, authority] = await Promise.all([read(contactFile), read(authorityFile)]);
  const account = openKeyFile(await readFile(keyFile, 'utf8'), FILE_PASSPHRASE);
  const identity = generateIdentityKeyPair();
  const store = new MemoryKeyStore();
  await store.setIdentity(identity);
  await rotateSignedPrekey(store, Date.now());
  const id = encodeBase64url(identity.publicKey);
  const device = certifyDevice(account, {
    contactPointId: net.kone.id,
    deviceId: id,
    deviceName: 'Old office PC',
    notBefore: Date.now() - 60_000,
    notAfter: Date.now() + 365 * 24 * 3600 * 1000,
  });
  const chain: CertificateChain = { authority, contactPoint, device };
  const { status, body } = await register(relayUrl, { id, identity, store, chain } as Parameters<typeof register>[1]);
  if (status !== 200) throw new Error(`the relay refused the old device: ${JSON.stringify(body)}`);
}

/**
 * Records, in the page, every desktop notification it shows and every progress bar it draws: what a
 * person would have seen even if it was gone by the time the test looked.
 */
const WATCH_PAGE = `
  window.__notifications = [];
  window.__progress = [];
  if (window.Notification) {
    const Real = window.Notification;
    window.Notification = class extends Real {
      constructor(title, options) { super(title, options); window.__notifications.push({ title, body: options && options.body }); }
    };
  }
  new MutationObserver(() => {
    for (const bar of document.querySelectorAll('progress')) {
      const label = bar.getAttribute('aria-label');
      const seen = window.__progress.find((p) => p.label === label);
      if (seen) seen.max = Math.max(seen.max, Number(bar.value)); else window.__progress.push({ label, max: Number(bar.value), total: Number(bar.max) });
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
`;

export async function practitionerPage(
  browser: Browser,
  origin: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    locale: 'en-GB',
    timezoneId: 'Africa/Dakar',
    viewport: { width: 1280, height: 860 },
  });
  await context.grantPermissions(['notifications'], { origin });
  await context.addInitScript(WATCH_PAGE);
  return { context, page: await context.newPage() };
}

export const notificationsShown = (page: Page) =>
  page.evaluate(
    () => (globalThis as unknown as { __notifications: { title: string; body: string }[] }).__notifications,
  );
export const progressSeen = (page: Page) =>
  page.evaluate(
    () => (globalThis as unknown as { __progress: { label: string; max: number; total: number }[] }).__progress,
  );

/**
 * A screenshot of a main screen, in test-results/screenshots/web-<name>.png; with
 * LIAISON_UPDATE_SCREENSHOTS=1 also in docs/screenshots/ (the set the README and docs show).
 */
export async function screen(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `web-${name}.png`);
  await page.screenshot({ path });
  if (process.env.LIAISON_UPDATE_SCREENSHOTS === '1') {
    await mkdir(DOCS_SCREENSHOTS, { recursive: true });
    await copyFile(path, join(DOCS_SCREENSHOTS, `${name}.png`));
  }
}

/** The serious and critical findings of an axe-core scan of the page as it is now. */
export async function accessibilityFindings(
  page: Page,
): Promise<{ id: string; impact: string; help: string; nodes: string[] }[]> {
  const source = await readFile(join(repo, 'node_modules/axe-core/axe.min.js'), 'utf8');
  // Evaluated through the debugging protocol: the page's Content-Security-Policy stays as served.
  await page.evaluate(source);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const { violations } = await axe.run();
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** Steps that build on each other: after one fails, the rest are skipped, naming it (they would only fail again, slowly). */
export function skipAfterFirstFailure(): void {
  let failedStep: string | undefined;
  beforeEach(({ skip }) => {
    if (failedStep) skip(`an earlier step failed: ${failedStep}`);
  });
  afterEach(({ task }) => {
    if (task.result?.state === 'fail') failedStep ??= task.name;
  });
}
