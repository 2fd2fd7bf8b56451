// A conversation's or a room's scrolling list of messages: it keeps the reader's place when earlier
// messages are put above, follows new ones at the bottom, and asks for earlier ones near the top.
import type { RefObject } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

export function useLogScroll(
  list: RefObject<HTMLDivElement>,
  shown: unknown,
  more: boolean,
  loadEarlier: () => void,
): () => void {
  const anchor = useRef<{ height: number; top: number } | null>(null);
  useLayoutEffect(() => {
    const element = list.current;
    if (!element) return;
    if (anchor.current) {
      element.scrollTop = element.scrollHeight - anchor.current.height + anchor.current.top;
      anchor.current = null;
    } else if (element.scrollHeight - element.scrollTop - element.clientHeight < 200 || element.scrollTop === 0) {
      element.scrollTop = element.scrollHeight;
    }
  }, [shown]);
  return () => {
    const element = list.current;
    if (element && more && element.scrollTop < 100 && !anchor.current) {
      anchor.current = { height: element.scrollHeight, top: element.scrollTop };
      loadEarlier();
    }
  };
}
