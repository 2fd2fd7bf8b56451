// What a practitioner does in Liaison Web, and what the tests read off the page, shared by the web
// tests (test/web/): enrolling from the CLI's files, unlocking after a reload, waiting for text to
// show, the accessibility scan, and English left on a page read in another language.
import { basename } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Catalogue } from '../../web/src/i18n/catalogue.js';
import { en } from '../../web/src/i18n/en.js';
import { accessibilityFindings, FILE_PASSPHRASE, type PractitionerFiles, screen } from './web-practitioners.js';

/** The browser's own passphrase each practitioner chooses at enrolment. */
export const STORE_PASSPHRASE = 'correct horse battery staple';

/** Waits until the element's text holds `expected` (a string, or a pattern), as a reader would see it. */
export const shows = (locator: Locator, expected: string | RegExp, timeout = 10_000) =>
  expect
    .poll(() => locator.innerText(), { timeout })
    .toSatisfy((text: string) => (typeof expected === 'string' ? text.includes(expected) : expected.test(text)));

/** No serious or critical axe-core finding on the page as it is now. */
export const expectAccessible = async (page: Page) => expect(await accessibilityFindings(page)).toEqual([]);

/**
 * Enrols the page's browser as a device of `who` from the files the CLI made, with the account
 * key; `shot` saves the empty and the filled-in screen; `extraFiles` are dropped with the others.
 */
export async function enrol(
  page: Page,
  origin: string,
  who: PractitionerFiles,
  options: { shot?: string; extraFiles?: string[] } = {},
): Promise<void> {
  const { shot, extraFiles = [] } = options;
  await page.goto(origin);
  await page.getByRole('heading', { name: 'Set up Liaison on this computer' }).waitFor();
  if (shot) {
    await expectAccessible(page);
    await screen(page, `${shot}-empty`);
  }
  await page
    .getByLabel('Your files (designation, authority certificate, account key)')
    .setInputFiles([...who.files, ...extraFiles]);
  await page.getByText(`Verified: ${who.name}`).waitFor();
  for (const file of extraFiles) {
    await page.getByText(`${basename(file)} is a network root file`).waitFor();
  }
  await page.getByLabel('Passphrase of your account key file').fill(FILE_PASSPHRASE);
  await page.getByLabel('New passphrase', { exact: true }).fill(STORE_PASSPHRASE);
  await page.getByLabel('The same passphrase again').fill(STORE_PASSPHRASE);
  if (shot) await screen(page, shot);
  await page.getByRole('button', { name: 'Set up this browser' }).click();
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 });
}

/** Locks the page as a reload does: nothing arrives in it until it is unlocked. */
export async function reloadToLock(page: Page): Promise<void> {
  await page.reload();
  await page.getByRole('heading', { name: 'Liaison is locked' }).waitFor();
}

/** Gives the passphrase on the lock screen (the page is in English). */
export async function unlock(page: Page): Promise<void> {
  await page.getByLabel('Passphrase for this browser').fill(STORE_PASSPHRASE);
  await page.getByRole('button', { name: 'Unlock' }).click();
}

/** A reload locks the page: gives the passphrase again. */
export async function reloadAndUnlock(page: Page): Promise<void> {
  await page.reload();
  await unlock(page);
}

/** English strings of the interface (12 characters or more) still in a page read in another language. */
export function englishLeftIn(text: string, catalogue: Catalogue): string[] {
  const forms = (c: Catalogue) => Object.values(c).flatMap((m) => (typeof m === 'string' ? [m] : Object.values(m)));
  const english = new Set(
    forms(en as Catalogue)
      .flatMap((m) => (m ?? '').split(/\{\w+\}/))
      .map((part) => part.trim())
      .filter((part) => part.length >= 12),
  );
  // Strings this catalogue keeps as in English (a name, a file name) are not missing.
  const same = forms(catalogue);
  return [...english].filter((s) => text.includes(s) && !same.some((t) => t?.includes(s)));
}
