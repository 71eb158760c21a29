import { useEffect, useRef, useState, type ReactNode } from 'react';

/**
 * An action that asks first when `ask` is set (Release, or Sign out with live grants): the
 * button turns into a question with the action and Keep. Focus moves to the question's action
 * and back to the button when kept; Escape keeps. All of it is plain buttons, so the keyboard
 * reaches everything.
 */
export function ConfirmButton({
  ask,
  question,
  confirmText,
  className,
  onConfirm,
  children,
}: {
  ask: boolean;
  question: string;
  confirmText: string;
  className: string;
  onConfirm: () => void;
  children: ReactNode;
}) {
  const [asking, setAsking] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);

  useEffect(() => {
    if (asking) confirm.current?.focus();
    else if (wasAsking.current) trigger.current?.focus();
    wasAsking.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button ref={trigger} type="button" className={className} onClick={() => (ask ? setAsking(true) : onConfirm())}>
        {children}
      </button>
    );
  }
  return (
    <span
      className="confirm"
      role="group"
      aria-label={question}
      onKeyDown={(event) => {
        if (event.key !== 'Escape') return;
        event.preventDefault(); // not also a toast's Escape
        setAsking(false);
      }}
    >
      <span>{question}</span>
      <button
        ref={confirm}
        type="button"
        className={className}
        onClick={() => {
          wasAsking.current = false;
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmText}
      </button>
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        Keep
      </button>
    </span>
  );
}
