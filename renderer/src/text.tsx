import { visibleParts, visibleText } from '@stint/contract';

/**
 * Text someone else wrote (a reason, a ticket, a name from the IdP), shown with any control or
 * bidi character as a visible, marked escape. Threat: a requester reordering or hiding what an
 * approver reads (a right-to-left override makes "1-TICKET" read backwards). The API refuses
 * such text now; this covers rows stored before, and names that come from the identity provider.
 */
export function Text({ value, multiline = false }: { value: string; multiline?: boolean }) {
  const parts = visibleParts(value, { multiline });
  if (parts.length === 1 && !parts[0]!.control) return <>{parts[0]!.text}</>;
  return (
    <>
      {parts.map((part, i) =>
        part.control ? (
          <span key={i} className="control-char" title="A control or text-direction character, shown as its code">
            {part.text}
          </span>
        ) : (
          part.text
        ),
      )}
    </>
  );
}

/** The same for places that take a plain string (labels, titles, toasts). */
export const plain = (value: string) => visibleText(value);
