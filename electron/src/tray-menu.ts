// The tray menu as a pure function of core's state and the time (STYLE.md, "Glue takes narrow
// dependencies"). Items carry action descriptors instead of click closures, so a test can
// assert exactly what each entry would do; main.ts turns descriptors into clicks.
import { bundleMembersText, formatDuration, formatMoment, missingForPolicy, type CoreState, type LocalGrant, type RememberedRequest, type Settings } from '@stint/contract';
import type { MenuItemConstructorOptions } from 'electron';

/** What a menu entry does when clicked; main.ts maps each kind onto core or a window. */
export type TrayAction =
  | { kind: 'sign-in' }
  | { kind: 'cancel-sign-in' }
  | { kind: 'sign-out' }
  | { kind: 'release'; grantId: string }
  | { kind: 'extend'; grantId: string; durationSeconds: number }
  /** Starts an approved grant that waits for its requester (start when ready). */
  | { kind: 'start'; grantId: string }
  /** Submits at once: only from a pinned/recent entry or an explicit "with reason" choice. */
  | { kind: 'request'; systemId: string; durationSeconds: number; reason: string; ticket?: string }
  /** Opens the request form prefilled; the person types the reason (or ticket) and submits there. */
  | { kind: 'request-form'; systemId: string; durationSeconds: number | null; reason: string; ticket?: string }
  | { kind: 'review'; requestId: string; decision: 'approve' | 'deny' }
  | { kind: 'open'; view: 'home' | 'reviews' | 'settings' }
  | { kind: 'quit' };

/** Structurally a subset of Electron's MenuItemConstructorOptions, with `action` for `click`. */
export interface TrayMenuItem {
  label?: string;
  type?: 'normal' | 'separator' | 'submenu';
  enabled?: boolean;
  toolTip?: string;
  submenu?: TrayMenuItem[];
  action?: TrayAction;
}

export type { RememberedRequest };

export interface TrayMenuContext {
  now: number;
  pinned: Settings['pinned'];
  /** Recent distinct requests, newest first (see recentRequests). */
  recent: RememberedRequest[];
}

/** Offered for Extend when a system has no presets of its own. */
export const DEFAULT_EXTEND_PRESETS_SECONDS = [15 * 60, 30 * 60, 60 * 60] as const;
/** A grant this close to its deadline makes the tray ask for attention. */
export const ATTENTION_WINDOW_MS = 5 * 60_000;
const LABEL_REASON_CHARS = 40;

const separator: TrayMenuItem = { type: 'separator' };

/** People know systems by name; the id stands in for one the catalog no longer lists. */
const nameIn = (state: CoreState, systemId: string) => state.systems.find((s) => s.id === systemId)?.name ?? systemId;

export function activeGrants(state: CoreState, now: number): LocalGrant[] {
  return state.grants
    .filter((grant) => grant.state === 'active' && Date.parse(grant.expiresAt) > now)
    .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
}

/** "12m", "1h5m", "<1m": minutes are what a person plans with; seconds would flicker. */
export function formatTimeLeft(msLeft: number): string {
  if (msLeft < 60_000) return '<1m';
  return formatDuration(Math.floor(msLeft / 60_000) * 60);
}

export function buildTrayMenu(state: CoreState, ctx: TrayMenuContext): TrayMenuItem[] {
  const items: TrayMenuItem[] = [...accountItems(state)];
  const signedIn = state.auth.status === 'signed-in';
  if (signedIn) {
    if (state.connection !== 'online') items.push({ label: state.connection === 'connecting' ? 'Connecting…' : 'Offline — retrying', enabled: false });
    items.push(separator, ...grantItems(state, ctx.now));
    const quick = quickRequestItems(state, ctx);
    if (quick.length > 0) items.push(separator, ...quick);
    items.push(requestSubmenu(state, ctx));
    const reviews = reviewItems(state);
    if (reviews) items.push(separator, reviews);
  }
  items.push(separator, { label: 'Open Stint', action: { kind: 'open', view: 'home' } }, { label: 'Quit Stint', action: { kind: 'quit' } });
  return items;
}

function accountItems(state: CoreState): TrayMenuItem[] {
  const { status, user, message } = state.auth;
  if (status === 'signed-in') {
    const who = user?.name ?? user?.email ?? user?.sub ?? 'unknown user';
    return [{ label: `Signed in as ${who}`, enabled: false }, { label: 'Sign out', action: { kind: 'sign-out' } }];
  }
  if (status === 'signing-in') {
    // Never a dead end: a tab closed or an IdP error page ends here, not in a five-minute wait.
    return [
      { label: 'Signing in… (finish in your browser)', enabled: false },
      { label: 'Start sign-in again', action: { kind: 'sign-in' } },
      { label: 'Cancel sign-in', action: { kind: 'cancel-sign-in' } },
    ];
  }
  const label = status === 'sign-in-needed' ? 'Sign in again…' : 'Sign in…';
  return [{ label, action: { kind: 'sign-in' }, ...(message ? { toolTip: message } : {}) }];
}

function extendPresets(state: CoreState, systemId: string): number[] {
  const system = state.systems.find((s) => s.id === systemId);
  const presets = system?.durationPresetsSeconds.filter((s) => s <= system.maxDurationSeconds) ?? [];
  return presets.length > 0 ? presets : [...DEFAULT_EXTEND_PRESETS_SECONDS];
}

/** Approved grants that wait: one click starts the countdown; a scheduled one only says when. */
function waitingItems(state: CoreState, now: number): TrayMenuItem[] {
  return state.waiting.map((w) => {
    const name = `${nameIn(state, w.systemId)} for ${formatDuration(w.durationSeconds)}`;
    if (w.startAt) return { label: `${name} — starts ${formatMoment(w.startAt, now)}`, enabled: false };
    return {
      label: `${name} — approved, not started`,
      submenu: [
        { label: 'Start now', action: { kind: 'start', grantId: w.grantId } },
        ...(w.startBy ? [{ label: `Start before ${formatMoment(w.startBy, now)}`, enabled: false }] : []),
        { label: 'Give it up', action: { kind: 'release', grantId: w.grantId } },
      ],
    };
  });
}

function grantItems(state: CoreState, now: number): TrayMenuItem[] {
  const grants = activeGrants(state, now);
  const waiting = waitingItems(state, now);
  if (grants.length === 0) return waiting.length > 0 ? waiting : [{ label: 'No active access', enabled: false }];
  return [...waiting, ...grants.map((grant): TrayMenuItem => ({
    label: `${nameIn(state, grant.systemId)} — ${formatTimeLeft(Date.parse(grant.expiresAt) - now)} left`,
    submenu: [
      { label: 'Release now', action: { kind: 'release', grantId: grant.grantId } },
      {
        label: 'Extend',
        submenu: extendPresets(state, grant.systemId).map((seconds) => ({
          label: `by ${formatDuration(seconds)}`,
          action: { kind: 'extend', grantId: grant.grantId, durationSeconds: seconds },
        })),
      },
    ],
  }))];
}

function shortReason(reason: string, max = LABEL_REASON_CHARS): string {
  const flat = reason.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function rememberedLabel(state: CoreState, entry: RememberedRequest): string {
  const reason = shortReason(entry.reason);
  return `${nameIn(state, entry.systemId)} for ${formatDuration(entry.durationSeconds)}${reason ? ` — “${reason}”` : ''}`;
}

function quickRequestItems(state: CoreState, ctx: TrayMenuContext): TrayMenuItem[] {
  const known = new Set(state.systems.map((s) => s.id));
  // A pinned system that vanished from the catalog would only fail on the server; hide it.
  // One that lacks what the policy asks for now (a ticket) opens the form filled in instead.
  const toItem = (entry: RememberedRequest): TrayMenuItem => {
    const missing = missingForPolicy(state.systems.find((s) => s.id === entry.systemId)!, entry);
    return missing
      ? { label: `${rememberedLabel(state, entry)}…`, toolTip: `Needs ${missing}: opens the form`, action: { kind: 'request-form', ...entry } }
      : { label: rememberedLabel(state, entry), action: { kind: 'request', ...entry } };
  };
  const pinned = ctx.pinned.filter((p) => known.has(p.systemId)).map(toItem);
  const recent = ctx.recent.filter((r) => known.has(r.systemId)).map(toItem);
  const items: TrayMenuItem[] = [];
  if (pinned.length > 0) items.push({ label: 'Pinned', enabled: false }, ...pinned);
  if (recent.length > 0) items.push({ label: 'Recent', submenu: recent });
  return items;
}

/** The reason last used for a system: pinned first, then the newest own request. */
export function rememberedReason(state: CoreState, pinned: Settings['pinned'], systemId: string): string | null {
  const pin = pinned.find((p) => p.systemId === systemId && p.reason.trim() !== '');
  if (pin) return pin.reason;
  const latest = [...state.myRequests]
    .filter((r) => r.systemId === systemId && r.reason.trim() !== '')
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
  return latest?.reason ?? null;
}

/**
 * Request…: each system → duration → remembered reason or a new one. Bundles follow the single
 * systems under their own heading, each saying what it holds.
 */
function requestSubmenu(state: CoreState, ctx: TrayMenuContext): TrayMenuItem {
  if (state.systems.length === 0) return { label: 'Request…', enabled: false, toolTip: 'No systems are available to you yet.' };
  const entry = (system: CoreState['systems'][number]): TrayMenuItem => {
    const reason = rememberedReason(state, ctx.pinned, system.id);
    const presets = system.durationPresetsSeconds.filter((s) => s <= system.maxDurationSeconds);
    const name = system.name === system.id ? system.id : `${system.name} (${system.id})`;
    const members = bundleMembersText(system.bundle);
    return {
      label: members ? `${name}: ${members}` : name,
      submenu: presets.map((seconds) => ({
        label: formatDuration(seconds),
        submenu: [
          ...(reason ? [{ label: `with reason: “${shortReason(reason)}”`, action: { kind: 'request', systemId: system.id, durationSeconds: seconds, reason } } satisfies TrayMenuItem] : []),
          { label: 'New reason…', action: { kind: 'request-form', systemId: system.id, durationSeconds: seconds, reason: '' } } satisfies TrayMenuItem,
        ],
      })),
    };
  };
  const bundles = state.systems.filter((s) => s.bundle?.length);
  const singles = state.systems.filter((s) => !s.bundle?.length);
  return {
    label: 'Request…',
    submenu: [...singles.map(entry), ...(bundles.length > 0 ? [...(singles.length > 0 ? [separator] : []), { label: 'Bundles', enabled: false }, ...bundles.map(entry)] : [])],
  };
}

/** A bundle's systems, a named start time, why an on-call rule did not approve: each a line of its own. */
function approvalNotes(state: CoreState, request: CoreState['reviewQueue'][number]): string[] {
  const members = bundleMembersText(state.systems.find((s) => s.id === request.systemId)?.bundle);
  return [
    ...(members ? [`Bundle: ${members}`] : []),
    ...(request.startAt ? [`Starts at ${formatMoment(request.startAt)} (approve ahead)`] : []),
    ...(request.onCallCheck ? [`On call: ${shortReason(request.onCallCheck.words, 2 * LABEL_REASON_CHARS)}`] : []),
  ];
}

function reviewItems(state: CoreState): TrayMenuItem | null {
  const waiting = state.reviewQueue.filter((r) => r.state === 'pending');
  if (waiting.length === 0) return null;
  return {
    label: `${waiting.length} waiting for you`,
    submenu: [
      ...waiting.map((request) => {
        const who = request.requester.name ?? request.requester.email ?? request.requester.sub;
        return {
          label: `${who} → ${nameIn(state, request.systemId)} for ${formatDuration(request.durationSeconds)}${request.breakGlass ? ' (break-glass)' : ''}`,
          submenu: [
            { label: request.reason ? `“${shortReason(request.reason)}”` : 'No reason given', enabled: false },
            // What one click approves, as the approver's card says it.
            ...approvalNotes(state, request).map((label): TrayMenuItem => ({ label, enabled: false })),
            { label: 'Approve', action: { kind: 'review', requestId: request.id, decision: 'approve' } },
            { label: 'Deny', action: { kind: 'review', requestId: request.id, decision: 'deny' } },
          ],
        } satisfies TrayMenuItem;
      }),
      separator,
      { label: 'Open reviews…', action: { kind: 'open', view: 'reviews' } },
    ],
  };
}

/** The nearest countdown, shown beside the icon (macOS menu bar title); '' when none. */
export function trayTitle(state: CoreState, now: number): string {
  const nearest = activeGrants(state, now)[0];
  return nearest ? formatTimeLeft(Date.parse(nearest.expiresAt) - now) : '';
}

export type TrayIconVariant = 'idle' | 'active' | 'attention';

export function trayIconVariant(state: CoreState, now: number): TrayIconVariant {
  if (state.auth.status === 'sign-in-needed') return 'attention';
  if (state.reviewQueue.some((r) => r.state === 'pending')) return 'attention';
  const grants = activeGrants(state, now);
  if (grants.some((g) => Date.parse(g.expiresAt) - now <= ATTENTION_WINDOW_MS)) return 'attention';
  return grants.length > 0 ? 'active' : 'idle';
}

/**
 * The icon file under assets/tray/. macOS gets template images (the system tints them for
 * light and dark menu bars and picks @2x itself); elsewhere we choose by the taskbar theme:
 * "light" is a light glyph for a dark taskbar, "dark" a dark glyph for a light one.
 */
export function trayIconFile(variant: TrayIconVariant, platform: NodeJS.Platform, darkTaskbar: boolean): string {
  if (platform === 'darwin') return variant === 'idle' ? 'iconTemplate.png' : `icon${variant === 'active' ? 'Active' : 'Attention'}Template.png`;
  const theme = darkTaskbar ? 'light' : 'dark';
  return variant === 'idle' ? `tray-${theme}.png` : `tray-${theme}-${variant}.png`;
}

/**
 * When to rebuild the menu and title next, or null when nothing counts down (state changes
 * rebuild it anyway). At most a minute, and sooner when a label or the icon would change.
 */
export function menuRefreshDelayMs(state: CoreState, now: number): number | null {
  const grants = activeGrants(state, now);
  if (grants.length === 0) return null;
  let delay = 60_000;
  for (const grant of grants) {
    const left = Date.parse(grant.expiresAt) - now;
    delay = Math.min(delay, left % 60_000 || 60_000, left);
    if (left > ATTENTION_WINDOW_MS) delay = Math.min(delay, left - ATTENTION_WINDOW_MS);
  }
  return Math.max(1_000, delay);
}

/** Turns descriptors into Electron's template, with one click handler for every action. */
export function toMenuTemplate(items: TrayMenuItem[], onAction: (action: TrayAction) => void): MenuItemConstructorOptions[] {
  return items.map(({ action, submenu, ...rest }) => ({
    ...rest,
    ...(submenu ? { submenu: toMenuTemplate(submenu, onAction) } : {}),
    ...(action ? { click: () => onAction(action) } : {}),
  }));
}
