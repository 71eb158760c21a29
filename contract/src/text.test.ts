/* eslint-disable no-control-regex -- finding control characters is what this file is for */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeJson, textProblem, visibleText } from './text';

const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const RAW_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('text rules', () => {
  it('refuses controls and bidi characters, naming the character; lines and tabs only in multi-line text', () => {
    expect(textProblem('fix the index', { multiline: false })).toBeNull();
    expect(textProblem('step 1\n\tstep 2', { multiline: true })).toBeNull();
    expect(textProblem('a\nb', { multiline: false })).toMatch(/line break or tab \(U\+000A at character 2\)/);
    expect(textProblem('x\u001b[2K', { multiline: true })).toMatch(/control character \(U\+001B at character 2\)/);
    expect(textProblem('\u009b', { multiline: true })).toMatch(/U\+009B/);
    expect(textProblem('ok\u202e', { multiline: true })).toMatch(/bidirectional override \(U\+202E/);
    expect(textProblem('ok\u2066', { multiline: true })).toMatch(/U\+2066/);
    expect(textProblem('naïve 日本 😀 עברית', { multiline: false })).toBeNull();
    expect(textProblem('a\u200fb', { multiline: true })).toMatch(/U\+200F/);
    expect(textProblem('a\u2028b', { multiline: true })).toMatch(/U\+2028/);
  });

  it('shows any text with no raw control left, and leaves ordinary text as it is', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(visibleText(text)).not.toMatch(RAW);
        expect(visibleText(text, { multiline: true })).not.toMatch(RAW_BUT_LINES);
        if (!RAW.test(text)) expect(visibleText(text)).toBe(text);
        expect(JSON.parse(safeJson(text))).toBe(text);
        expect(safeJson(text)).not.toMatch(RAW);
      }),
    );
    expect(visibleText('a\u001b[2K\r\nb\u202e')).toBe('a\\x1B[2K\\r\\nb\\u202E');
    expect(visibleText('a\nb\tc\u0007', { multiline: true })).toBe('a\nb\tc\\x07');
  });
});
