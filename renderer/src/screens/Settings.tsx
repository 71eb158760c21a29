import { formatDuration, type Settings as SettingsValue } from '@stint/contract';
import { Text } from '../text';
import { useEffect, useState, type FormEvent } from 'react';
import type { ScreenProps } from '../actions';

const NOTIFICATIONS: { key: keyof SettingsValue['notifications']; label: string }[] = [
  { key: 'reviews', label: 'Requests waiting for my review' },
  { key: 'decisions', label: 'Decisions on my requests' },
  { key: 'reminders', label: 'Reminders before access ends' },
  { key: 'receipts', label: 'Receipts when access is wiped' },
];

export const SHELL_SETUP = ['eval "$(stint hook bash)"', 'eval "$(stint hook zsh)"', 'stint hook fish | source'] as const;

/** "5, 1" -> [300, 60]; null when the text is not a list of whole minutes. */
export function parseReminderMinutes(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (parts.length > 5 || parts.some((p) => !/^\d+$/.test(p) || Number(p) <= 0)) return null;
  return parts.map((p) => Number(p) * 60);
}

export function Settings({ bridge, run }: ScreenProps) {
  const [settings, setSettings] = useState<SettingsValue | null>(null);
  const [serverUrl, setServerUrl] = useState('');
  const [reminders, setReminders] = useState('');
  const [notifications, setNotifications] = useState<SettingsValue['notifications'] | null>(null);
  const [startAtLogin, setStartAtLogin] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  function show(value: SettingsValue) {
    setSettings(value);
    setServerUrl(value.serverUrl);
    setReminders(value.remindersSeconds.map((s) => Math.round(s / 60)).join(', '));
    setNotifications(value.notifications);
    setStartAtLogin(value.startAtLogin);
  }

  async function unpin(systemId: string) {
    if (!settings) return;
    const value = await run(bridge.call('updateSettings', { pinned: settings.pinned.filter((p) => p.systemId !== systemId) }));
    // Only the list changes: unsaved edits in the form above stay as typed.
    if (value) setSettings(value);
  }

  useEffect(() => {
    void run(bridge.call('getSettings', {})).then((value) => value && show(value));
  }, [bridge, run]);

  async function save(event: FormEvent) {
    event.preventDefault();
    const remindersSeconds = parseReminderMinutes(reminders);
    if (!remindersSeconds) return setProblem('Reminders are up to five whole numbers of minutes, like "5, 1".');
    setProblem(null);
    const value = await run(bridge.call('updateSettings', { serverUrl, remindersSeconds, startAtLogin, ...(notifications ? { notifications } : {}) }));
    if (value) {
      show(value);
      setSaved(true);
    }
  }

  return (
    <>
      <section aria-labelledby="settings-title">
        <h2 id="settings-title">Settings</h2>
        {!settings || !notifications ? (
          <p aria-busy="true">Loading…</p>
        ) : (
          <form className="card settings" onSubmit={save} onChange={() => setSaved(false)}>
            <label>
              <span>Server URL</span>
              <input type="url" value={serverUrl} onChange={(e) => setServerUrl(e.target.value)} required />
            </label>
            <label>
              <span>Reminders (minutes before the end, comma-separated)</span>
              <input value={reminders} onChange={(e) => setReminders(e.target.value)} inputMode="numeric" />
            </label>
            <fieldset>
              <legend>Notifications</legend>
              {NOTIFICATIONS.map(({ key, label }) => (
                <label key={key} className="check">
                  <input type="checkbox" checked={notifications[key]} onChange={(e) => setNotifications({ ...notifications, [key]: e.target.checked })} />
                  <span>{label}</span>
                </label>
              ))}
            </fieldset>
            <label className="check">
              <input type="checkbox" checked={startAtLogin} onChange={(e) => setStartAtLogin(e.target.checked)} />
              <span>Start Stint when I log in (in the tray, without a window)</span>
            </label>
            {problem && (
              <p className="problem" role="alert">
                {problem}
              </p>
            )}
            <div className="actions">
              <button type="submit" className="primary">
                Save settings
              </button>
              {saved && <span aria-live="polite">Saved.</span>}
            </div>
          </form>
        )}
      </section>
      {settings && (
        <section aria-labelledby="pinned-title">
          <h2 id="pinned-title">Pinned requests</h2>
          {settings.pinned.length === 0 ? (
            <p className="muted">None yet. Tick “Pin to the tray menu” when you request something you ask for often.</p>
          ) : (
            <ul className="list" aria-labelledby="pinned-title">
              {settings.pinned.map((p) => (
                <li key={p.systemId} className="row">
                  <span>
                    <strong>{p.systemId}</strong> for {formatDuration(p.durationSeconds)}
                    {p.reason && (
                      <>
                        {' '}
                        — <Text value={p.reason} />
                      </>
                    )}
                  </span>
                  <button type="button" className="secondary" onClick={() => void unpin(p.systemId)} aria-label={`Unpin ${p.systemId}`}>
                    Unpin
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      <section aria-labelledby="shell-title">
        <h2 id="shell-title">Shell setup</h2>
        <p>Add the line for your shell to its start-up file so every new prompt picks up active grants:</p>
        <pre className="code">
          <code>{SHELL_SETUP.join('\n')}</code>
        </pre>
        <p className="muted">
          Or give credentials to one command only: <code>stint exec &lt;system&gt; -- command</code>.
        </p>
      </section>
    </>
  );
}
