import { en } from './en.js';
import type { Catalogue } from './i18n.js';

// Placeholder until translated.
export const fr: Catalogue = { ...en };
