import { z } from 'zod';
import { firstProblem, getJson, OnCallLookupError, type LookupWindow, type OnCallSource, type Shift } from './source';

/**
 * Opsgenie's `GET /v2/schedules/{id}/on-calls?flat=true` answer: the usernames (which are email
 * addresses) on call at `date`, and the schedule it is about. It gives no shift times.
 */
const OnCalls = z.object({
  data: z.object({
    _parent: z.object({ id: z.string(), name: z.string().optional() }),
    onCallRecipients: z.array(z.string().min(1)),
  }),
});

export interface OpsgenieSettings {
  apiUrl: string;
  apiKey: string;
  timeoutMs: number;
}

export class OpsgenieSource implements OnCallSource {
  readonly label = 'Opsgenie';
  constructor(private readonly settings: OpsgenieSettings) {}

  async shifts(schedule: string, window: LookupWindow): Promise<Shift[]> {
    const base = this.settings.apiUrl.endsWith('/') ? this.settings.apiUrl : `${this.settings.apiUrl}/`;
    const url = new URL(`v2/schedules/${encodeURIComponent(schedule)}/on-calls`, base);
    url.searchParams.set('scheduleIdentifierType', 'id');
    url.searchParams.set('flat', 'true');
    url.searchParams.set('date', new Date(window.from).toISOString());
    const body = await getJson(url, { authorization: `GenieKey ${this.settings.apiKey}`, accept: 'application/json' }, this.settings.timeoutMs, this.label);
    const parsed = OnCalls.safeParse(body);
    if (!parsed.success) throw new OnCallLookupError(`${this.label} answered in a shape Stint does not know (${firstProblem(parsed.error.issues)})`);
    if (parsed.data.data._parent.id !== schedule) {
      throw new OnCallLookupError(`${this.label} answered about schedule ${parsed.data.data._parent.id}, not ${schedule}`);
    }
    return parsed.data.data.onCallRecipients.map((email) => ({ email, start: null, end: null }));
  }
}
