/** The one PostgreSQL channel of every NOTIFY: `<topic> <sequence>` (topics: contract/events.ts). */
export const NOTIFY_CHANNEL = 'filterscope_events';
