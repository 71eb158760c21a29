import { describe, expect, it, vi } from 'vitest';
import { recentRequests } from '@stint/contract';
import { grant, NOW, request, state, system, waiting } from './state.fixture';
import {
  buildTrayMenu,
  formatTimeLeft,
  menuRefreshDelayMs,
  toMenuTemplate,
  trayIconFile,
  trayIconVariant,
  trayTitle,
  type TrayMenuItem,
} from './tray-menu';

const ctx = { now: NOW, pinned: [], recent: [] };
const labels = (items: TrayMenuItem[]) => items.filter((i) => i.type !== 'separator').map((i) => i.label);
const find = (items: TrayMenuItem[] | undefined, label: string | RegExp): TrayMenuItem => {
  const item = items?.find((i) => (typeof label === 'string' ? i.label === label : label.test(i.label ?? '')));
  if (!item) throw new Error(`no menu item ${String(label)} in ${JSON.stringify(items?.map((i) => i.label))}`);
  return item;
};

describe('buildTrayMenu', () => {
  it('offers only sign-in, open and quit when signed out', () => {
    const menu = buildTrayMenu(state({ auth: { status: 'signed-out', user: null, message: null } }), ctx);
    expect(labels(menu)).toEqual(['Sign in…', 'Open Stint', 'Quit Stint']);
    expect(find(menu, 'Sign in…').action).toEqual({ kind: 'sign-in' });
    expect(find(menu, 'Quit Stint').action).toEqual({ kind: 'quit' });
  });

  it('names systems as the catalog does, in grants, reviews and remembered requests', () => {
    const named = [system('prod-db', [900], { name: 'Production DB' })];
    const menu = buildTrayMenu(state({ systems: named, grants: [grant('prod-db', 600_000)], reviewQueue: [request('prod-db')] }), {
      ...ctx,
      pinned: [{ systemId: 'prod-db', durationSeconds: 900, reason: 'daily check' }],
    });
    const all = (items: TrayMenuItem[]): string[] => items.flatMap((i) => [i.label ?? '', ...all(i.submenu ?? [])]);
    const text = JSON.stringify(all(menu));
    expect(text).toContain('Production DB — 10m left');
    expect(text).toContain('Production DB for 15m — “daily check”');
    expect(text).toMatch(/→ Production DB for/);
    expect(text).not.toMatch(/prod-db[^)]/); // only in "Production DB (prod-db)" under Request…
  });

  it('asks to sign in again when the session lapsed', () => {
    const menu = buildTrayMenu(state({ auth: { status: 'sign-in-needed', user: null, message: 'Session expired' } }), ctx);
    expect(find(menu, 'Sign in again…')).toMatchObject({ action: { kind: 'sign-in' }, toolTip: 'Session expired' });
  });

  it('never leaves a waiting sign-in as a dead end: start again, or cancel', () => {
    const menu = buildTrayMenu(state({ auth: { status: 'signing-in', user: null, message: null } }), ctx);
    expect(find(menu, 'Signing in… (finish in your browser)').enabled).toBe(false);
    expect(find(menu, 'Start sign-in again').action).toEqual({ kind: 'sign-in' });
    expect(find(menu, 'Cancel sign-in').action).toEqual({ kind: 'cancel-sign-in' });
  });

  it('names who is signed in', () => {
    const menu = buildTrayMenu(state(), ctx);
    expect(find(menu, 'Signed in as Grace').enabled).toBe(false);
    expect(find(menu, 'Sign out').action).toEqual({ kind: 'sign-out' });
  });

  it('lists active grants, nearest deadline first, with release and extend presets', () => {
    const db = grant('prod-db', 12 * 60_000 + 30_000);
    const ssh = grant('staging-ssh', 3 * 60_000);
    const ended = grant('prod-db', -1000);
    const menu = buildTrayMenu(state({ grants: [db, ssh, ended] }), ctx);
    const grantLabels = labels(menu).filter((l) => l?.includes('left'));
    expect(grantLabels).toEqual(['staging-ssh — 3m left', 'prod-db — 12m left']);
    const item = find(menu, 'prod-db — 12m left');
    expect(find(item.submenu, 'Release now').action).toEqual({ kind: 'release', grantId: db.grantId });
    const extend = find(item.submenu, 'Extend').submenu!;
    expect(extend.map((i) => [i.label, i.action])).toEqual([
      ['by 15m', { kind: 'extend', grantId: db.grantId, durationSeconds: 900 }],
      ['by 30m', { kind: 'extend', grantId: db.grantId, durationSeconds: 1800 }],
      ['by 1h', { kind: 'extend', grantId: db.grantId, durationSeconds: 3600 }],
    ]);
  });

  it('offers Start on an approval that waits for its requester, and only says when for a scheduled one', () => {
    const ops = waiting('prod-db', { msToStartBy: 3 * 3_600_000 });
    const tonight = waiting('staging-ssh', { startAt: new Date(NOW + 12 * 3_600_000).toISOString() });
    const menu = buildTrayMenu(state({ waiting: [ops, tonight], grants: [grant('prod-db', 600_000)] }), ctx);
    const item = find(menu, 'prod-db for 30m — approved, not started');
    expect(find(item.submenu, 'Start now').action).toEqual({ kind: 'start', grantId: ops.grantId });
    expect(find(item.submenu, 'Give it up').action).toEqual({ kind: 'release', grantId: ops.grantId });
    const scheduled = menu.find((i) => i.label?.startsWith('staging-ssh for 30m — starts '));
    expect(scheduled).toMatchObject({ enabled: false });
    expect(scheduled?.submenu).toBeUndefined();
    expect(labels(menu)).not.toContain('No active access');
    expect(find(buildTrayMenu(state({ waiting: [ops] }), ctx), 'prod-db for 30m — approved, not started')).toBeTruthy();
  });

  it('says so when nothing is active', () => {
    expect(find(buildTrayMenu(state(), ctx), 'No active access').enabled).toBe(false);
  });

  it('puts pinned requests one click away and recent ones in a submenu', () => {
    const pinned = [{ systemId: 'prod-db', durationSeconds: 1800, reason: 'on-call' }];
    const recent = [{ systemId: 'staging-ssh', durationSeconds: 600, reason: 'deploy check' }];
    const menu = buildTrayMenu(state(), { now: NOW, pinned, recent });
    expect(find(menu, 'prod-db for 30m — “on-call”').action).toEqual({ kind: 'request', systemId: 'prod-db', durationSeconds: 1800, reason: 'on-call' });
    expect(find(find(menu, 'Recent').submenu, /staging-ssh for 10m/).action).toEqual({ kind: 'request', ...recent[0] });
  });

  it('keeps the ticket of a pinned or recent request for a ticket-gated system, and opens the form when one is missing', () => {
    const gated = state({ systems: [system('prod-db', [900, 1800], { policy: { ...system('x').policy, ticketPattern: '^INC-[0-9]+$' } })] });
    const withTicket = { systemId: 'prod-db', durationSeconds: 1800, reason: 'on-call', ticket: 'INC-7' };
    const without = { systemId: 'prod-db', durationSeconds: 900, reason: 'look' };
    const menu = buildTrayMenu(gated, { now: NOW, pinned: [withTicket], recent: [without] });
    expect(find(menu, 'prod-db for 30m — “on-call”').action).toEqual({ kind: 'request', ...withTicket });
    // One click would only be refused by the policy: the form opens, filled in, instead.
    expect(find(find(menu, 'Recent').submenu, 'prod-db for 15m — “look”…')).toMatchObject({ toolTip: 'Needs a ticket: opens the form', action: { kind: 'request-form', ...without } });
    const mine = [request('prod-db', { ticket: 'INC-8', reason: 'again' })];
    expect(recentRequests(state({ myRequests: mine }), [])).toEqual([{ systemId: 'prod-db', durationSeconds: 1800, reason: 'again', ticket: 'INC-8' }]);
  });

  it('hides pinned systems that left the catalog', () => {
    const menu = buildTrayMenu(state(), { now: NOW, pinned: [{ systemId: 'gone', durationSeconds: 60, reason: '' }], recent: [] });
    expect(labels(menu).some((l) => l?.startsWith('gone'))).toBe(false);
  });

  it('builds Request… as system → duration → remembered reason or a new one', () => {
    const mine = request('prod-db', { reason: 'INC-7 slow queries', state: 'expired' });
    const menu = buildTrayMenu(state({ myRequests: [mine] }), ctx);
    const db = find(find(menu, 'Request…').submenu, 'prod-db');
    expect(db.submenu!.map((i) => i.label)).toEqual(['15m', '30m', '1h']);
    const thirty = find(db.submenu, '30m').submenu!;
    expect(thirty).toEqual([
      { label: 'with reason: “INC-7 slow queries”', action: { kind: 'request', systemId: 'prod-db', durationSeconds: 1800, reason: 'INC-7 slow queries' } },
      { label: 'New reason…', action: { kind: 'request-form', systemId: 'prod-db', durationSeconds: 1800, reason: '' } },
    ]);
    // No remembered reason: only the form, never a reasonless one-click request.
    const ssh = find(find(menu, 'Request…').submenu, 'staging-ssh');
    expect(find(ssh.submenu, '10m').submenu!.map((i) => i.label)).toEqual(['New reason…']);
  });

  it('lists bundles after the single systems, under their own heading, each saying what it holds', () => {
    const incident = system('incident', [1800], { name: 'Incident response', bundle: [{ id: 'prod-db', name: 'Production database', provider: 'postgres' }, { id: 'dev-ssh', name: 'Dev SSH host', provider: 'ssh' }] });
    const menu = buildTrayMenu(state({ systems: [incident, system('prod-db')] }), ctx);
    const request = find(menu, 'Request…').submenu!;
    expect(labels(request)).toEqual(['prod-db', 'Bundles', 'Incident response (incident): Production database and Dev SSH host']);
    expect(find(request, 'Bundles').enabled).toBe(false);
    const thirty = find(find(request, /^Incident response/).submenu, '30m').submenu!;
    expect(find(thirty, 'New reason…').action).toEqual({ kind: 'request-form', systemId: 'incident', durationSeconds: 1800, reason: '' });
  });

  it('leaves out presets above the system maximum', () => {
    const menu = buildTrayMenu(state({ systems: [system('prod-db', [900, 9 * 3600])] }), ctx);
    expect(find(find(menu, 'Request…').submenu, 'prod-db').submenu!.map((i) => i.label)).toEqual(['15m']);
  });

  it('shows reviews waiting with approve and deny for each', () => {
    const waiting = request('prod-db', { requester: { sub: 'u-bob', name: 'Bob', email: null } });
    const decided = request('prod-db', { state: 'approved' });
    const menu = buildTrayMenu(state({ reviewQueue: [waiting, decided] }), ctx);
    const reviews = find(menu, '1 waiting for you');
    const entry = find(reviews.submenu, 'Bob → prod-db for 30m');
    expect(find(entry.submenu, 'Approve').action).toEqual({ kind: 'review', requestId: waiting.id, decision: 'approve' });
    expect(find(entry.submenu, 'Deny').action).toEqual({ kind: 'review', requestId: waiting.id, decision: 'deny' });
    expect(find(entry.submenu, '“INC-42 failover”').enabled).toBe(false);
  });

  it("says what an approval from the menu gives: a bundle's systems, a start time, why on-call did not approve", () => {
    const incident = system('incident', [1800], { name: 'Incident response', bundle: [{ id: 'prod-db', name: 'Production database', provider: 'postgres' }, { id: 'dev-ssh', name: 'Dev SSH host', provider: 'ssh' }] });
    const asked = request('incident', {
      requester: { sub: 'u-bob', name: 'Bob', email: null },
      startAt: '2026-12-03T22:00:00.000Z',
      onCallCheck: { source: 'rota', schedule: 'primary', outcome: 'not-on-call', words: 'not on call now for rota schedule primary' },
    });
    const entry = find(find(buildTrayMenu(state({ systems: [incident], reviewQueue: [asked] }), ctx), '1 waiting for you').submenu, /^Bob → Incident response/);
    const notes = entry.submenu!.filter((i) => i.enabled === false).map((i) => i.label);
    expect(notes).toContain('Bundle: Production database and Dev SSH host');
    expect(notes.some((l) => /^Starts at .+ \(approve ahead\)$/.test(l ?? ''))).toBe(true);
    expect(notes).toContain('On call: not on call now for rota schedule primary');
    // A plain request has none of these.
    const plain = find(find(buildTrayMenu(state({ reviewQueue: [request('prod-db')] }), ctx), '1 waiting for you').submenu, /prod-db/);
    expect(plain.submenu!.filter((i) => i.enabled === false)).toHaveLength(1);
  });

  it('has no review entry when nothing waits', () => {
    expect(labels(buildTrayMenu(state(), ctx)).some((l) => l?.includes('waiting'))).toBe(false);
  });

  it('ends with Open Stint and Quit', () => {
    expect(labels(buildTrayMenu(state(), ctx)).slice(-2)).toEqual(['Open Stint', 'Quit Stint']);
  });
});

describe('recentRequests', () => {
  it('is newest first, distinct, without pinned ones or extensions', () => {
    const at = (m: number) => new Date(NOW - m * 60_000).toISOString();
    const mine = [
      request('prod-db', { createdAt: at(30), reason: 'a' }),
      request('prod-db', { createdAt: at(10), reason: 'b' }),
      request('prod-db', { createdAt: at(5), reason: 'b' }),
      request('staging-ssh', { createdAt: at(1), reason: 'pinned' }),
      request('prod-db', { createdAt: at(0), reason: 'ext', extendsGrantId: '00000000-0000-4000-8000-999999999999' }),
    ];
    const pinned = [{ systemId: 'staging-ssh', durationSeconds: 1800, reason: 'pinned' }];
    expect(recentRequests(state({ myRequests: mine }), pinned).map((r) => r.reason)).toEqual(['b', 'a']);
  });
});

describe('tray title, icon and refresh', () => {
  it('shows the nearest countdown', () => {
    expect(trayTitle(state(), NOW)).toBe('');
    expect(trayTitle(state({ grants: [grant('a', 70 * 60_000), grant('b', 12 * 60_000 + 59_000)] }), NOW)).toBe('12m');
    expect(formatTimeLeft(59_999)).toBe('<1m');
    expect(formatTimeLeft(65 * 60_000)).toBe('1h5m');
  });

  it('picks idle, active or attention', () => {
    expect(trayIconVariant(state(), NOW)).toBe('idle');
    expect(trayIconVariant(state({ grants: [grant('a', 5 * 60_000 + 1)] }), NOW)).toBe('active');
    expect(trayIconVariant(state({ grants: [grant('a', 5 * 60_000)] }), NOW)).toBe('attention');
    expect(trayIconVariant(state({ reviewQueue: [request('a')] }), NOW)).toBe('attention');
    expect(trayIconVariant(state({ auth: { status: 'sign-in-needed', user: null, message: null } }), NOW)).toBe('attention');
  });

  it('uses template images on macOS and themed ones elsewhere', () => {
    expect(trayIconFile('idle', 'darwin', true)).toBe('iconTemplate.png');
    expect(trayIconFile('attention', 'darwin', false)).toBe('iconAttentionTemplate.png');
    expect(trayIconFile('idle', 'linux', true)).toBe('tray-light.png');
    expect(trayIconFile('active', 'win32', false)).toBe('tray-dark-active.png');
  });

  it('names only icon files that exist, at both macOS scales', async () => {
    const { existsSync } = await import('node:fs');
    const dir = new URL('../../assets/tray/', import.meta.url);
    for (const variant of ['idle', 'active', 'attention'] as const) {
      for (const [platform, dark] of [['darwin', false], ['linux', true], ['linux', false], ['win32', true]] as const) {
        const file = trayIconFile(variant, platform, dark);
        expect(existsSync(new URL(file, dir)), file).toBe(true);
        if (platform === 'darwin') expect(existsSync(new URL(file.replace('.png', '@2x.png'), dir)), file).toBe(true);
      }
    }
  });

  it('refreshes at least every minute while a grant is active, and not otherwise', () => {
    expect(menuRefreshDelayMs(state(), NOW)).toBeNull();
    expect(menuRefreshDelayMs(state({ grants: [grant('a', 60 * 60_000)] }), NOW)).toBe(60_000);
    expect(menuRefreshDelayMs(state({ grants: [grant('a', 12 * 60_000 + 20_000)] }), NOW)).toBe(20_000);
    // Crossing into the 5-minute attention window changes the icon: refresh right then.
    expect(menuRefreshDelayMs(state({ grants: [grant('a', 5 * 60_000 + 3_000)] }), NOW)).toBe(3_000);
    expect(menuRefreshDelayMs(state({ grants: [grant('a', 200)] }), NOW)).toBe(1_000);
  });
});

describe('toMenuTemplate', () => {
  it('turns descriptors into click handlers, recursively', () => {
    const onAction = vi.fn();
    const template = toMenuTemplate([{ label: 'Outer', submenu: [{ label: 'Inner', action: { kind: 'open', view: 'home' } }] }], onAction);
    const inner = (template[0]!.submenu as { click?: () => void; label?: string }[])[0]!;
    expect(inner.label).toBe('Inner');
    inner.click!();
    expect(onAction).toHaveBeenCalledWith({ kind: 'open', view: 'home' });
    expect('action' in inner).toBe(false);
  });
});
