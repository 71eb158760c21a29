import { parseRoute, type Route } from '@stint/contract';

// Where the tray popover opens: beside the tray icon, inside the screen's work area, so it is
// never half off-screen whichever edge the taskbar or menu bar sits on.
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function popoverPosition(tray: Rect, size: { width: number; height: number }, workArea: Rect): { x: number; y: number } {
  const clamp = (value: number, min: number, max: number) => Math.max(min, Math.min(value, max));
  const centreX = tray.x + tray.width / 2 - size.width / 2;
  // The tray is at the top (macOS, most Linux panels) or the bottom (Windows taskbar).
  const trayAtTop = tray.y + tray.height / 2 < workArea.y + workArea.height / 2;
  const y = trayAtTop ? tray.y + tray.height + 4 : tray.y - size.height - 4;
  return {
    x: Math.round(clamp(centreX, workArea.x, workArea.x + workArea.width - size.width)),
    y: Math.round(clamp(y, workArea.y, workArea.y + workArea.height - size.height)),
  };
}

/**
 * A link followed inside the popover (a grant, the inbox, "Open Stint") is meant for the main
 * window: the popover is a glance, 320 pixels wide. Returns the route to open there, or null
 * when the popover is (still) on its own tray view.
 */
export function popoverLinkTarget(url: string): Route | null {
  let hash: string;
  try {
    hash = new URL(url).hash;
  } catch {
    return null;
  }
  const route = parseRoute(hash);
  return route.view === 'tray' ? null : route;
}
