// A question before something that cannot be undone (taking someone out of a room, leaving it):
// a modal dialog that says what will happen, in words, with the action named on its button.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import { ErrorLine } from './error-line.js';
import { describeError } from './errors.js';

export function ConfirmDialog(props: {
  title: string;
  children: ComponentChildren;
  /** The button that does it, naming what it does ("Remove Awa Koné"). */
  confirm: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  /** Words for a failure, when the generic ones would mislead (a room's own refusals). */
  describe?: (error: unknown) => string;
}) {
  const id = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (dialog.current && !dialog.current.open) dialog.current.showModal();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      role="alertdialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-body`}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) props.onClose();
      }}
    >
      <h2 id={`${id}-title`}>{props.title}</h2>
      <div id={`${id}-body`}>{props.children}</div>
      <ErrorLine message={error} />
      <div class="actions">
        <button
          type="button"
          class="primary danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(undefined);
            try {
              await props.onConfirm();
              props.onClose();
            } catch (e) {
              setError((props.describe ?? describeError)(e));
              setBusy(false);
            }
          }}
        >
          {props.confirm}
        </button>
        <button type="button" onClick={props.onClose} disabled={busy}>
          {t('common.cancel')}
        </button>
      </div>
    </dialog>
  );
}
