/* eslint-disable no-control-regex -- finding control characters is what this file is for */

// Free text that people type (reasons, tickets, review comments) is shown to other people: in
// an approver's terminal (`stint requests`), in the app, in audit exports. Threat: a requester
// rewriting what the approver sees. A terminal obeys escape sequences (ESC [2K erases the
// line, CR returns to its start), and bidi overrides and isolates reorder what follows them,
// so "approved" can be drawn over "pending", or a ticket can read backwards. So the API
// refuses them on the way in (textProblem), and everything that shows stored text, including
// rows written before this rule, shows them as visible escapes (visibleText), never raw.

/**
 * C0 controls (U+0000-U+001F), DEL, C1 controls (U+0080-U+009F), and the line and paragraph
 * separators (U+2028, U+2029) that some renderers break lines at.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
/**
 * Bidi embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069), and the marks
 * (U+200E, U+200F, U+061C) that flip how neighbouring punctuation and digits are ordered.
 */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const UNSAFE_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const UNSAFE_MULTILINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why this text may not be stored, or null when it may. Multi-line text (a reason, a comment)
 * may hold tabs and newlines; single-line text (a ticket, a key) may not.
 */
export function textProblem(text: string, options: { multiline: boolean }): string | null {
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (options.multiline && (char === '\n' || char === '\t')) continue;
    if (CONTROL.test(char)) {
      const what = char === '\n' || char === '\t' ? 'a line break or tab' : 'a control character';
      return `holds ${what} (${codePoint(char)} at character ${i + 1}); remove it`;
    }
    if (BIDI.test(char)) return `holds a bidirectional override (${codePoint(char)} at character ${i + 1}), which reorders how text is shown; remove it`;
  }
  return null;
}
export interface TextPart {
  text: string;
  /** True when this part stands for a control or bidi character, written as an escape. */
  control: boolean;
}

/**
 * Stored text as parts, each control or bidi character turned into a visible escape (`\x1B`,
 * `\u202E`, `\n`, `\t`). Multi-line keeps newlines and tabs as they are (for a text block);
 * single-line escapes them too (for a table cell, where a newline could forge a row).
 */
export function visibleParts(text: string, options: { multiline?: boolean } = {}): TextPart[] {
  const unsafe = options.multiline ? UNSAFE_MULTILINE : UNSAFE_ALL;
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(unsafe)) {
    if (match.index > last) parts.push({ text: text.slice(last, match.index), control: false });
    parts.push({ text: escape(match[0]), control: true });
    last = match.index + match[0].length;
  }
  if (last < text.length || parts.length === 0) parts.push({ text: text.slice(last), control: false });
  return parts;
}

/** visibleParts joined: what a terminal may print of stored text. */
export function visibleText(text: string, options: { multiline?: boolean } = {}): string {
  return visibleParts(text, options)
    .map((p) => p.text)
    .join('');
}

/**
 * JSON for a terminal or a pipe: JSON.stringify escapes C0 controls already, but not DEL, C1
 * controls (U+009B is CSI to some terminals), line separators or bidi characters; the same
 * value, escaped.
 */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(/[\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

function escape(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  const code = char.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
}
