// The small pure plans main.ts follows: popover placement, the quit question, window routes.
import { describe, expect, it } from 'vitest';
import { popoverLinkTarget, popoverPosition } from './popover';
import { quitChoice, quitPrompt } from './quit';
import { routeHash } from '@stint/contract';
import { grant, NOW, state } from './state.fixture';

describe('popoverPosition', () => {
  const size = { width: 360, height: 520 };
  it('opens below a top tray and above a bottom one, inside the work area', () => {
    const screen = { x: 0, y: 0, width: 1440, height: 900 };
    expect(popoverPosition({ x: 1200, y: 0, width: 24, height: 24 }, size, { ...screen, y: 24, height: 876 })).toEqual({ x: 1032, y: 28 });
    expect(popoverPosition({ x: 1400, y: 860, width: 24, height: 40 }, size, { ...screen, height: 860 })).toEqual({ x: 1080, y: 336 });
  });
});

describe('popoverLinkTarget', () => {
  it('sends a link followed in the popover to the main window, and leaves the tray view alone', () => {
    expect(popoverLinkTarget(`app://stint/index.html${routeHash({ view: 'tray' })}`)).toBeNull();
    expect(popoverLinkTarget(`app://stint/index.html${routeHash({ view: 'reviews' })}`)).toEqual({ view: 'reviews' });
    expect(popoverLinkTarget(`app://stint/index.html${routeHash({ view: 'home' })}`)).toEqual({ view: 'home' });
    expect(popoverLinkTarget('not a url')).toBeNull();
  });
});

describe('quitPrompt', () => {
  it('asks only when something is active, naming the systems', () => {
    expect(quitPrompt(state(), NOW)).toBeNull();
    const a = grant('prod-db', 600_000);
    const prompt = quitPrompt(state({ grants: [a, grant('old', -1)] }), NOW);
    expect(prompt).toMatchObject({ message: 'Release your access to prod-db before quitting?', grantIds: [a.grantId], defaultId: 0, cancelId: 2 });
    expect(prompt!.buttons[prompt!.cancelId]).toBe('Cancel');
    expect([0, 1, 2, -1].map(quitChoice)).toEqual(['release', 'keep', 'cancel', 'cancel']);
  });
});

describe('routeHash', () => {
  it('prefills the request form from a link without losing characters', () => {
    const hash = routeHash({ view: 'new-request', prefill: { systemId: 'prod-db', durationSeconds: 1800, reason: 'INC-42 & #7' } });
    const query = new URLSearchParams(hash.split('?')[1]);
    expect(hash.startsWith('#/request?')).toBe(true);
    expect(Object.fromEntries(query)).toEqual({ system: 'prod-db', for: '1800s', reason: 'INC-42 & #7' });
    expect(routeHash({ view: 'review', requestId: 'a/b' })).toBe('#/reviews/a%2Fb');
  });
});
