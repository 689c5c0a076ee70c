import { hashString, pick, seededRandom } from './random.js';

export type Severity = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export type Sensitivity = 'unrestricted' | 'low' | 'moderate' | 'high' | 'critical';

export interface Incident {
  id: string;
  /** ISO 8601. */
  trigger_time: string;
  policy: { id: string; name: string; severity: Severity };
  dataset: { id: string; name: string; sensitivity: Sensitivity };
  resolution_status: 'open' | 'closed';
  user: string;
  hostname: string;
  assignee: string | null;
  event_ids: string[];
}

export interface EventDetails {
  id: string;
  incident_id: string;
  /** ISO 8601. */
  timestamp: string;
  action: { kind: string; blocked: boolean; data_size: number };
  user: { id: string; local_username: string };
  source: { file: { name: string; size: number } };
  destination: { web: { domain: string } } | { usb: { device: string } } | { email: { recipient_domain: string } };
  content?: { tags: string[] };
}

const POLICIES: readonly Incident['policy'][] = [
  { id: 'pol-source-code-exfil', name: 'Source code to personal cloud', severity: 'critical' },
  { id: 'pol-customer-pii', name: 'Customer PII leaves the company', severity: 'high' },
  { id: 'pol-finance-usb', name: 'Finance reports to USB', severity: 'high' },
  { id: 'pol-design-docs', name: 'Design documents shared externally', severity: 'medium' },
  { id: 'pol-genai-paste', name: 'Pasting into GenAI tools', severity: 'medium' },
  { id: 'pol-hr-records', name: 'HR records by email', severity: 'low' },
  { id: 'pol-screenshots', name: 'Screenshots of dashboards', severity: 'informational' },
];
const DATASETS: readonly Incident['dataset'][] = [
  { id: 'ds-source-code', name: 'Source code', sensitivity: 'critical' },
  { id: 'ds-customer-data', name: 'Customer data', sensitivity: 'high' },
  { id: 'ds-financials', name: 'Financial reports', sensitivity: 'high' },
  { id: 'ds-designs', name: 'Product designs', sensitivity: 'moderate' },
  { id: 'ds-hr', name: 'HR records', sensitivity: 'moderate' },
  { id: 'ds-public', name: 'Public material', sensitivity: 'unrestricted' },
];
const FIRST = ['ada', 'alan', 'grace', 'linus', 'margaret', 'dennis', 'barbara', 'ken', 'radia', 'tim', 'frances', 'edsger'];
const LAST = ['lovelace', 'turing', 'hopper', 'torvalds', 'hamilton', 'ritchie', 'liskov', 'thompson', 'perlman', 'lee'];
const DOMAINS = ['drive.google.com', 'dropbox.com', 'chat.openai.com', 'github.com', 'wetransfer.com', 'mail.yahoo.com'];
const KINDS = ['upload', 'copy', 'paste', 'email', 'print', 'screenshot'];
const FILES = ['roadmap.pdf', 'customers.csv', 'q3-forecast.xlsx', 'main.go', 'design.fig', 'payroll.xlsx', 'notes.txt'];

/** The data set ends here, whatever the clock says, so it is the same on every run. */
export const DATA_END = Date.UTC(2025, 11, 31);
const SPAN_MS = 90 * 24 * 3600 * 1000;

export interface DataSet {
  /** Incidents sorted by trigger time, oldest first (ties by id). */
  readonly incidents: readonly Incident[];
  event(id: string, includeContent: boolean): EventDetails | undefined;
}

/** A deterministic data set: the same seed and size give the same incidents and events. */
export function createDataSet(seed: number, size: number): DataSet {
  const random = seededRandom(seed);
  const users = Array.from(
    { length: 40 },
    (_, i) => `${FIRST[i % FIRST.length]}.${LAST[(i * 7) % LAST.length]}${i >= 12 ? i : ''}@example.test`,
  );
  const times = Array.from({ length: size }, () => DATA_END - Math.floor(random() * SPAN_MS)).sort((a, b) => a - b);
  const incidents = times.map((time, i): Incident => {
    const user = pick(random, users);
    const policy = pick(random, POLICIES);
    const events = 1 + Math.floor(random() * 3);
    const number = String(i + 1).padStart(6, '0');
    return {
      id: `inc_${number}`,
      trigger_time: new Date(time).toISOString(),
      policy,
      dataset: pick(random, DATASETS),
      resolution_status: random() < 0.35 ? 'closed' : 'open',
      user,
      hostname: `${user.split('@')[0]?.replace('.', '-')}-laptop`,
      assignee: random() < 0.5 ? pick(random, users) : null,
      event_ids: Array.from({ length: events }, (_, n) => `evt_${number}_${n + 1}`),
    };
  });

  return {
    incidents,
    event(id, includeContent) {
      const match = /^evt_(\d{6})_(\d)$/.exec(id);
      const incident = match ? incidents[Number(match[1]) - 1] : undefined;
      if (!incident?.event_ids.includes(id)) return undefined;
      const r = seededRandom(hashString(id) ^ seed);
      const kind = pick(r, KINDS);
      const size = 1024 + Math.floor(r() * 5_000_000);
      const destination: EventDetails['destination'] =
        kind === 'print'
          ? { usb: { device: 'Kingston DataTraveler' } }
          : kind === 'email'
            ? { email: { recipient_domain: 'gmail.com' } }
            : { web: { domain: pick(r, DOMAINS) } };
      const details: EventDetails = {
        id,
        incident_id: incident.id,
        timestamp: new Date(Date.parse(incident.trigger_time) - Math.floor(r() * 60_000)).toISOString(),
        action: { kind, blocked: r() < 0.3, data_size: size },
        user: { id: `user-${hashString(incident.user).toString(16)}`, local_username: incident.user.split('@')[0] ?? incident.user },
        source: { file: { name: pick(r, FILES), size } },
        destination,
      };
      if (includeContent) details.content = { tags: [incident.dataset.name.toLowerCase(), incident.policy.severity] };
      return details;
    },
  };
}
