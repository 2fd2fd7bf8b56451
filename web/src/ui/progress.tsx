import { formatBytes } from '../i18n/i18n.js';
import type { Transfer } from '../state/session.js';

export function Progress(props: { transfer: Transfer; label: string }) {
  const { transferred, total } = props.transfer;
  return (
    <span class="progress">
      <progress max={total} value={transferred} aria-label={props.label} />{' '}
      <span class="meta">
        {formatBytes(transferred)} / {formatBytes(total)}
      </span>
    </span>
  );
}
