// The shape of a message catalogue. English (en.ts) is the reference: every other catalogue must
// have exactly its keys, or the typecheck fails. A message may have plural forms, chosen by
// Intl.PluralRules (Russian needs one, few, many; French many, for round millions: "1 000 000 de messages").
import type { en } from './en.js';

export type Plural = { one?: string; few?: string; many?: string; other: string };
export type Message = string | Plural;
export type MessageKey = keyof typeof en;
export type Catalogue = { readonly [K in MessageKey]: Message };
