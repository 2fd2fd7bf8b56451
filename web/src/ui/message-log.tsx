// The scrolling list of a conversation's or a room's messages: a log a keyboard can scroll, with a
// button for earlier messages and a word when there are none.
import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import { useLogScroll } from './log-scroll.js';

export function MessageLog(props: {
  /** What screen readers call the list. */
  label: string;
  /** What is shown now: the list keeps the reader's place when it changes. */
  shown: readonly unknown[];
  more: boolean;
  loadEarlier: () => void;
  children: ComponentChildren;
}) {
  const { label, shown, more, loadEarlier, children } = props;
  const list = useRef<HTMLDivElement>(null);
  const onScroll = useLogScroll(list, shown, more, loadEarlier);
  return (
    <div
      class="messages"
      ref={list}
      onScroll={onScroll}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
      tabIndex={0}
      role="log"
      aria-label={label}
    >
      {more && (
        <p>
          <button type="button" class="link" onClick={loadEarlier}>
            {t('conversation.earlier')}
          </button>
        </p>
      )}
      {shown.length === 0 && <p class="hint">{t('conversation.empty')}</p>}
      {children}
    </div>
  );
}
