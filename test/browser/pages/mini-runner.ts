// Just enough of a test runner to run the SDK's contract suites inside a page: they take the
// runner's describe, it and expect as arguments (client-sdk/src/key-store/key-store-contract.ts).
import type { TestFunctions } from '@liaison/client/testing';

export interface Result {
  name: string;
  ok: boolean;
  error?: string;
}

/** Sorted keys, so that deep equality does not depend on the order properties were set in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export async function runContract(register: (test: TestFunctions) => void): Promise<Result[]> {
  const tests: Array<{ name: string; body: () => Promise<void> }> = [];
  const prefix: string[] = [];
  register({
    describe(name, body) {
      prefix.push(name);
      body();
      prefix.pop();
    },
    it(name, body) {
      tests.push({ name: [...prefix, name].join(' > '), body });
    },
    expect(actual) {
      return {
        toEqual(expected) {
          if (canonical(actual) !== canonical(expected))
            throw new Error(`expected ${canonical(expected).slice(0, 200)}, got ${canonical(actual).slice(0, 200)}`);
        },
        toBe(expected) {
          if (actual !== expected) throw new Error(`expected ${String(expected)}, got ${String(actual)}`);
        },
      };
    },
  });
  const results: Result[] = [];
  for (const test of tests) {
    try {
      await test.body();
      results.push({ name: test.name, ok: true });
    } catch (error) {
      results.push({ name: test.name, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}
