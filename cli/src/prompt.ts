import { readFileSync } from 'node:fs';
import { formatDuration } from '@stint/contract';

/**
 * "prod-db 12m" for PS1 or starship, from the runtime folder's non-secret deadline file: no
 * socket, no network. Minutes are enough at a prompt; seconds show in the last minute.
 */
export function promptSegment(grantsFile: string, nowMs = Date.now()): string {
  let text: string;
  try {
    text = readFileSync(grantsFile, 'utf8');
  } catch {
    return '';
  }
  const now = Math.floor(nowMs / 1000);
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([system, at]) => system && Number(at) > now)
    .map(([system, at]) => {
      const seconds = Number(at) - now;
      return `${system} ${seconds >= 60 ? formatDuration(Math.floor(seconds / 60) * 60) : `${seconds}s`}`;
    })
    .join(' ');
}
