import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { bundle, launchChromium, type PageServer, servePage } from './browser.js';
import { testNetwork } from './network.js';
import { type RelayEnv, type RelayProcess, spawnRelay } from './relay-process.js';

/** What the browser tests run against: Chromium, the SDK's test page served on loopback, and a relay that lets that page in. */
export interface BrowserWorld {
  browser: Browser;
  server: PageServer;
  relay: RelayProcess;
  net: Awaited<ReturnType<typeof testNetwork>>;
  close(): Promise<void>;
}

/** `env` is the relay's; `chromiumArgs` are launchChromium's (EXPOSE_GC for watchMemory). */
export async function startBrowserWorld(env: RelayEnv = {}, chromiumArgs: string[] = []): Promise<BrowserWorld> {
  const { code } = await bundle(resolve(import.meta.dirname, '../browser/pages/sdk-page.ts'));
  const server = await servePage(code);
  const net = await testNetwork();
  const relay = await spawnRelay([net.root], { LIAISON_CORS_ORIGINS: server.origin, ...env });
  const browser = await launchChromium(chromiumArgs);
  return {
    browser,
    server,
    relay,
    net,
    async close() {
      await browser.close();
      await server.close();
      await relay.stop();
    },
  };
}
