import { useId, useRef, useState } from 'react';

/**
 * A read-only line with a Copy button: the sign-in address, a grant's connect command. Without
 * clipboard permission the text is selected for Ctrl-C instead, and the person is told so.
 */
export function CopyField({ label, value, buttonText = 'Copy' }: { label: string; value: string; buttonText?: string }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <input id={id} ref={input} readOnly value={value} spellCheck={false} onFocus={(event) => event.currentTarget.select()} />
      <button
        type="button"
        className="secondary"
        aria-label={`${buttonText}: ${label}`}
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(value);
            setCopied('yes');
          } catch {
            input.current?.select();
            setCopied('failed');
          }
        }}
      >
        {buttonText}
      </button>
      <span aria-live="polite" className="muted">
        {copied === 'yes' ? 'Copied.' : copied === 'failed' ? 'Selected; press Ctrl-C to copy.' : ''}
      </span>
    </div>
  );
}
