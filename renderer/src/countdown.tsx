import { useEffect, useState } from 'react';
import { clockText } from './notice';

/** The current time, re-read every second while mounted. */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

const RADIUS = 20;
const CIRCUMFERENCE = 2 * Math.PI * RADIUS;

/** A ring that empties as the grant runs out. SVG attributes, not style: the CSP forbids inline styles. */
export function Countdown({ startsAt, expiresAt, now }: { startsAt: string; expiresAt: string; now: number }) {
  const start = Date.parse(startsAt);
  const end = Date.parse(expiresAt);
  const secondsLeft = Math.max(0, (end - now) / 1000);
  const fraction = end > start ? Math.min(1, Math.max(0, (end - now) / (end - start))) : 0;
  const urgent = secondsLeft < 60;
  return (
    <div className={`countdown${urgent ? ' countdown-urgent' : ''}`}>
      <svg viewBox="0 0 48 48" width="48" height="48" aria-hidden="true" className="ring">
        <circle className="ring-track" cx="24" cy="24" r={RADIUS} fill="none" strokeWidth="5" />
        <circle
          className="ring-fill"
          cx="24"
          cy="24"
          r={RADIUS}
          fill="none"
          strokeWidth="5"
          strokeDasharray={CIRCUMFERENCE}
          strokeDashoffset={CIRCUMFERENCE * (1 - fraction)}
          transform="rotate(-90 24 24)"
        />
      </svg>
      <span role="timer" aria-label={`${clockText(secondsLeft)} left`} className="countdown-text">
        {clockText(secondsLeft)} left
      </span>
    </div>
  );
}
