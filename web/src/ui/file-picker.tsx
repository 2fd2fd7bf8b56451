import { useId, useState } from 'preact/hooks';
import { formatBytes, t } from '../i18n/i18n.js';

/** A file input that also takes files dropped on it; the input stays the keyboard's way in. */
export function FilePicker(props: {
  label: string;
  hint?: string;
  accept?: string;
  multiple?: boolean;
  onFiles: (files: File[]) => void | Promise<void>;
}) {
  const id = useId();
  const [over, setOver] = useState(false);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: dropping is a shortcut for the mouse; the file input inside is the way in for everyone
    <div
      class={`drop ${over ? 'over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const files = [...(e.dataTransfer?.files ?? [])];
        if (files.length) void props.onFiles(files);
      }}
    >
      {/* The browser's own button would speak the browser's language, not the page's: this label is the button. */}
      <input
        id={id}
        class="file-input"
        type="file"
        multiple={props.multiple ?? true}
        accept={props.accept}
        onChange={(e) => {
          const files = [...(e.currentTarget.files ?? [])];
          e.currentTarget.value = '';
          if (files.length) void props.onFiles(files);
        }}
      />
      <label for={id} class="button">
        {props.label}
      </label>
      {props.hint && <span class="hint">{props.hint}</span>}
    </div>
  );
}

/** The files chosen so far for a message, each with a way to take it out again. */
export function ChosenFiles(props: { files: readonly File[]; onChange: (files: File[]) => void }) {
  const { files, onChange } = props;
  if (files.length === 0) return null;
  return (
    <ul class="attachments">
      {files.map((f, i) => (
        <li key={`${f.name}-${i}`}>
          {f.name} <span class="meta">{formatBytes(f.size)}</span>{' '}
          <button
            type="button"
            class="link"
            aria-label={t('compose.removeFile', { name: f.name })}
            onClick={() => onChange(files.filter((_, j) => j !== i))}
          >
            {t('compose.remove')}
          </button>
        </li>
      ))}
    </ul>
  );
}
