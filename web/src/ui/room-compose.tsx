// Writing to a room: the text, files, and (folded away) handling restrictions and the text's
// language. It goes to every member's devices at once; a room's messages are never urgent.
import type { HandlingCode, RoomView } from '@liaison/client';
import { useState } from 'preact/hooks';
import { t } from '../i18n/i18n.js';
import type { Session } from '../state/session.js';
import { ErrorLine } from './error-line.js';
import { describeRoomError } from './errors.js';
import { ChosenFiles, FilePicker } from './file-picker.js';
import { HandlingChoice } from './handling-choice.js';

export function RoomCompose(props: { session: Session; room: RoomView }) {
  const { session, room } = props;
  const [text, setText] = useState('');
  const [handling, setHandling] = useState<HandlingCode[]>([]);
  const [files, setFiles] = useState<File[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const alone = room.members.length < 2;

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await session.sendToRoom({
        roomId: room.roomId,
        content: { text, ...(handling.length > 0 && { handling }) },
        files,
      });
      setText('');
      setFiles([]);
    } catch (e) {
      setError(describeRoomError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="compose inline" onSubmit={submit} aria-label={t('room.compose', { title: room.title })}>
      <label>
        {t('room.text')}
        <textarea value={text} required rows={2} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <ChosenFiles files={files} onChange={setFiles} />
      <details>
        <summary>{t('compose.handling')}</summary>
        <HandlingChoice handling={handling} onChange={setHandling} hiddenLegend />
      </details>
      {alone && <p class="hint">{t('room.alone')}</p>}
      <ErrorLine message={error} />
      <div class="compose-row">
        <button type="submit" class="primary" disabled={busy || alone}>
          {t('room.send')}
        </button>
        <FilePicker label={t('compose.attach')} onFiles={(picked) => setFiles([...files, ...picked])} />
      </div>
    </form>
  );
}
