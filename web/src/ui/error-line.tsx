/** A failure, said where it happened and announced to screen readers; nothing when there is none. */
export function ErrorLine(props: { message: string | undefined; inline?: boolean }) {
  if (!props.message) return null;
  return props.inline ? (
    <span class="error" role="alert">
      {' '}
      {props.message}
    </span>
  ) : (
    <p class="error" role="alert">
      {props.message}
    </p>
  );
}
