// What the deployment tells the page: the relay to talk to and the network roots it starts from.
// The relay that serves the app writes ./config.json itself; a static deployment writes it by hand.
// The roots are pinned at enrolment (kept in the key store): a later config.json cannot change
// which networks this device trusts.
import type { TrustedRoot } from '@liaison/client';

export interface WebConfig {
  relayUrl: string;
  trustedRoots: TrustedRoot[];
}

export async function loadConfig(): Promise<WebConfig> {
  const response = await fetch('./config.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const config = (await response.json()) as { relayUrl?: string; trustedRoots?: TrustedRoot[] };
  return {
    relayUrl: config.relayUrl ?? location.origin,
    trustedRoots: Array.isArray(config.trustedRoots) ? config.trustedRoots : [],
  };
}
