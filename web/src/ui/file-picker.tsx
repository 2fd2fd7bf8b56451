import { useId, useState } from 'preact/hooks';

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
