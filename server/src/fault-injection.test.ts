import { describe, expect, it } from 'vitest';
import { crashPlanFromEnv } from './fault-injection.js';

describe('the fault-injection switch', () => {
  it('is off unless set', () => {
    expect(crashPlanFromEnv({})).toBeUndefined();
    expect(crashPlanFromEnv({ LIAISON_FAULT_CRASH: '' })).toBeUndefined();
  });

  it('names a point and a batch', () => {
    expect(crashPlanFromEnv({ LIAISON_FAULT_CRASH: 'commit:3' })).toEqual({ point: 'commit', batch: 3 });
    expect(crashPlanFromEnv({ LIAISON_FAULT_CRASH: 'notice:1' })).toEqual({ point: 'notice', batch: 1 });
  });

  it('refuses anything else, and refuses to arm where the relay runs for real', () => {
    for (const value of ['commit', 'commit:0', 'reply:2', 'commit:2x']) {
      expect(() => crashPlanFromEnv({ LIAISON_FAULT_CRASH: value })).toThrow('commit:N or notice:N');
    }
    expect(() => crashPlanFromEnv({ LIAISON_FAULT_CRASH: 'commit:3', NODE_ENV: 'production' })).toThrow(
      'refused with NODE_ENV=production',
    );
  });
});
