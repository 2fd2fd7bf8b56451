import { certifyDevice } from '@liaison/client';
import { type CertificateChain, PQ_HYBRID_CAPABILITY } from '@liaison/protocol';
import type { Page } from 'playwright-core';
import type { TestContactPoint } from './network.js';

/**
 * A device whose keys live in a page's IndexedDbKeyStore (test/browser/pages/sdk-page.ts): the page
 * makes the identity, the test certifies it with the contact point's account key, as an agency's
 * enrolment would.
 */

// biome-ignore lint/suspicious/noExplicitAny: the page's functions, called by name through page.evaluate
type PageSdk = Record<string, (...args: any[]) => Promise<any>>;

/** Calls `window.sdk[name](...args)` in the page. */
export function call<T = unknown>(page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([n, a]) => (globalThis as unknown as { sdk: PageSdk }).sdk[n as string]?.(...(a as unknown[])),
    [name, args] as const,
  ) as Promise<T>;
}

/** The same, with a LiaisonError (or any error) returned as `{ ok: false, code, message }`. */
export function attempt(
  page: Page,
  name: string,
  ...args: unknown[]
): Promise<{ ok: true; value: unknown } | { ok: false; code: string; message: string }> {
  return page.evaluate(
    ([n, a]) => {
      const sdk = (globalThis as unknown as { sdk: PageSdk & { outcome(w: () => Promise<unknown>): Promise<never> } })
        .sdk;
      return sdk.outcome(() => (sdk[n as string] as (...x: unknown[]) => Promise<unknown>)(...(a as unknown[])));
    },
    [name, args] as const,
  );
}

export function chainFor(contactPoint: TestContactPoint, deviceId: string, deviceName: string): CertificateChain {
  const now = Date.now();
  const device = certifyDevice(contactPoint.accountKeys, {
    contactPointId: contactPoint.id,
    deviceId,
    deviceName,
    notBefore: now - 60_000,
    notAfter: now + 365 * 24 * 3600 * 1000,
    capabilities: [PQ_HYBRID_CAPABILITY],
  });
  return { authority: contactPoint.authority, contactPoint: contactPoint.certificate, device };
}
