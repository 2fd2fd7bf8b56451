import { describe } from 'vitest';

/**
 * The external services cross-package tests need, found through the environment (`.ci/run`
 * starts them and exports the URLs). Without a URL a test group is skipped with the reason in
 * its name, except in CI (CI=true), where a missing service is an error, never a silent skip.
 */
export interface Service {
  readonly name: string;
  readonly url: string | undefined;
  /** describe() when the service is there; otherwise a skipped group that says why. */
  describe(title: string, body: () => void): void;
}

function serviceFromEnv(name: string, variable: string): Service {
  const url = process.env[variable] || undefined;
  if (!url && process.env.CI === 'true') {
    throw new Error(`${variable} is not set: CI must provide ${name} (bash .ci/run starts it).`);
  }
  return {
    name,
    url,
    describe(title, body) {
      if (url) describe(title, body);
      else describe.skip(`${title} [skipped: ${variable} is not set; bash .ci/run provides ${name}]`, body);
    },
  };
}

/** A PostgreSQL server where the test role may create databases. */
export const postgresService = serviceFromEnv('PostgreSQL', 'LIAISON_TEST_DATABASE_URL');

/** A Redis server whose keys tests may write under their own prefix. */
export const redisService = serviceFromEnv('Redis', 'LIAISON_TEST_REDIS_URL');

export function requireUrl(service: Service): string {
  if (!service.url) throw new Error(`${service.name} is not available`);
  return service.url;
}

/**
 * Something a test group needs from this machine rather than a service URL (a program, a
 * permission), checked by `missing` (the reason, or undefined when present). Like a service: a
 * skipped group with the reason in its name, except in CI, where a missing requirement fails.
 */
export function machineRequirement(missing: () => string | undefined): Pick<Service, 'describe'> {
  return {
    describe(title, body) {
      const reason = missing();
      if (!reason) return describe(title, body);
      if (process.env.CI === 'true') throw new Error(`${title}: ${reason} (CI must provide it; bash .ci/run does)`);
      describe.skip(`${title} [skipped: ${reason}]`, body);
    },
  };
}
