import { HANDLING_CODES, type HandlingCode } from '@liaison/client';
import { t } from '../i18n/i18n.js';

/** The handling restrictions a message carries, to tick; `hiddenLegend` where a summary already names them. */
export function HandlingChoice(props: {
  handling: HandlingCode[];
  onChange: (handling: HandlingCode[]) => void;
  hiddenLegend?: boolean;
}) {
  const { handling, onChange } = props;
  return (
    <fieldset class="handling-choice">
      <legend class={props.hiddenLegend ? 'visually-hidden' : undefined}>{t('compose.handling')}</legend>
      {HANDLING_CODES.map((code) => (
        <label key={code} class="check">
          <input
            type="checkbox"
            checked={handling.includes(code)}
            onChange={(e) =>
              onChange(e.currentTarget.checked ? [...handling, code] : handling.filter((c) => c !== code))
            }
          />
          {t(`handling.${code}`)}
        </label>
      ))}
    </fieldset>
  );
}
