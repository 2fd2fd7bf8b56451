import { signal } from '@preact/signals';

/** This device's time, once a second: deadlines count down on screen without each view keeping a timer. */
export const now = signal(Date.now());
setInterval(() => {
  now.value = Date.now();
}, 1000);
