import { z } from 'zod';
import { firstProblem, getJson, OnCallLookupError, type LookupWindow, type OnCallSource, type Shift } from './source';

/**
 * The part of PagerDuty's `GET /oncalls` answer (REST API v2) Stint reads. With `include[]=users`
 * each entry's user is the full user, email included; without it, a reference with only a summary
 * (the display name), which cannot be matched to anyone, so the email is required here.
 */
const OnCalls = z.object({
  oncalls: z.array(
    z.object({
      user: z.object({ id: z.string(), email: z.string().min(1) }),
      schedule: z.object({ id: z.string() }).nullable(),
      /** null: a permanent on-call (the user is the escalation target itself). */
      start: z.string().nullable(),
      end: z.string().nullable(),
    }),
  ),
});

export interface PagerDutySettings {
  apiUrl: string;
  token: string;
  timeoutMs: number;
}

const MAX_ENTRIES = 100;

export class PagerDutySource implements OnCallSource {
  readonly label = 'PagerDuty';
  constructor(private readonly settings: PagerDutySettings) {}

  async shifts(schedule: string, window: LookupWindow): Promise<Shift[]> {
    const url = new URL('oncalls', this.settings.apiUrl.endsWith('/') ? this.settings.apiUrl : `${this.settings.apiUrl}/`);
    url.searchParams.append('schedule_ids[]', schedule);
    url.searchParams.append('include[]', 'users');
    // Every on-call that overlaps [now, now + the cache's life], so a reused answer still knows
    // who comes on and goes off in that span.
    url.searchParams.set('since', new Date(window.from).toISOString());
    url.searchParams.set('until', new Date(window.to).toISOString());
    url.searchParams.set('limit', String(MAX_ENTRIES));
    const body = await getJson(
      url,
      { authorization: `Token token=${this.settings.token}`, accept: 'application/vnd.pagerduty+json;version=2' },
      this.settings.timeoutMs,
      this.label,
    );
    const parsed = OnCalls.safeParse(body);
    if (!parsed.success) throw new OnCallLookupError(`${this.label} answered in a shape Stint does not know (${firstProblem(parsed.error.issues)})`);
    // The filter is PagerDuty's; entries for another schedule (or none) are dropped here too.
    return parsed.data.oncalls.filter((o) => o.schedule?.id === schedule).map((o) => ({ email: o.user.email, start: o.start, end: o.end }));
  }
}
