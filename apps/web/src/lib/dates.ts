/**
 * Calendar words for the thread (issue #17, item 6): the day separators (今天 / 昨天 / 星期三 /
 * 3月5日 / 2025年3月5日), the full timestamp shown on hover, and file-name stamps.
 *
 * Every function takes an optional IANA `timeZone`; absent means the browser's own zone, which is
 * what the user sees everywhere else. Tests pass one explicitly so they do not depend on the machine.
 */

const DAY_MS = 86_400_000;

interface DayParts {
  year: number;
  month: number;
  day: number;
}

interface TimeParts extends DayParts {
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock parts of `date` in `timeZone` (Intl knows the zone's offset and DST at that instant). */
function partsOf(date: Date, timeZone?: string): TimeParts {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DD` of the calendar day `date` falls on in `timeZone`: the grouping key of the thread. */
export function dayKey(date: Date, timeZone?: string): string {
  const { year, month, day } = partsOf(date, timeZone);
  return `${year}-${pad(month)}-${pad(day)}`;
}

/** Whole calendar days from `from`'s day to `to`'s day (0 = same day), counted on the calendar, not in 24 h steps. */
function calendarDaysBetween(from: DayParts, to: DayParts): number {
  return Math.round((Date.UTC(to.year, to.month - 1, to.day) - Date.UTC(from.year, from.month - 1, from.day)) / DAY_MS);
}

const WEEKDAYS = ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'] as const;

/**
 * The separator's words for the day of `date`, seen on `now`: 今天, 昨天, the weekday for the
 * rest of the last 7 days (as WeChat does), then 3月5日 in this year and 2025年3月5日 before it.
 * A date after today (a skewed clock) gets its date, never 今天.
 */
export function dayLabel(date: Date, now: Date, timeZone?: string): string {
  const day = partsOf(date, timeZone);
  const today = partsOf(now, timeZone);
  const ago = calendarDaysBetween(day, today);
  if (ago === 0) return '今天';
  if (ago === 1) return '昨天';
  if (ago > 1 && ago < 7) {
    const weekday = new Date(Date.UTC(day.year, day.month - 1, day.day)).getUTCDay();
    return WEEKDAYS[weekday] ?? '';
  }
  if (day.year === today.year) return `${day.month}月${day.day}日`;
  return `${day.year}年${day.month}月${day.day}日`;
}

/** For a message's hover text: 2026年12月3日 星期四 17:38:22 (seconds, so two messages of one minute differ). */
export function fullTimestamp(date: Date, timeZone?: string): string {
  const p = partsOf(date, timeZone);
  const weekday = WEEKDAYS[new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay()];
  return `${p.year}年${p.month}月${p.day}日 ${weekday} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

/** 17:38 on the 24-hour clock: the meta line under a bubble (its day is the separator above it). */
export function clockTime(date: Date, timeZone?: string): string {
  const p = partsOf(date, timeZone);
  return `${pad(p.hour)}:${pad(p.minute)}`;
}

/**
 * When the last message of a conversation was written, for the list (as chat apps show it): 17:38
 * today, else the separator's words (昨天, 星期三, 3月5日, 2025年3月5日).
 */
export function listTime(date: Date, now: Date, timeZone?: string): string {
  const label = dayLabel(date, now, timeZone);
  return label === '今天' ? clockTime(date, timeZone) : label;
}

/** `20261203-173822` in the user's zone: a file name that sorts by time and reads as the user's clock. */
export function fileStamp(date: Date, timeZone?: string): string {
  const p = partsOf(date, timeZone);
  return `${p.year}${pad(p.month)}${pad(p.day)}-${pad(p.hour)}${pad(p.minute)}${pad(p.second)}`;
}

export interface DayGroup<T> {
  /** `YYYY-MM-DD` in the zone used. */
  key: string;
  /** Unique among the groups, stable as messages are added (a React key): `key`, or `key#2` for a day's second run. */
  id: string;
  label: string;
  items: T[];
}

/**
 * Splits a thread (already in display order) into runs of one calendar day each, for a separator
 * before every run. A day seen again later (out-of-order clocks) starts a new run rather than
 * moving messages: the thread's order is the server's order.
 */
export function groupByDay<T>(
  items: readonly T[],
  dateOf: (item: T) => Date,
  now: Date,
  timeZone?: string,
): DayGroup<T>[] {
  const groups: DayGroup<T>[] = [];
  const runs = new Map<string, number>();
  for (const item of items) {
    const date = dateOf(item);
    const key = dayKey(date, timeZone);
    const last = groups.at(-1);
    if (last && last.key === key) {
      last.items.push(item);
      continue;
    }
    const run = (runs.get(key) ?? 0) + 1;
    runs.set(key, run);
    groups.push({ key, id: run === 1 ? key : `${key}#${run}`, label: dayLabel(date, now, timeZone), items: [item] });
  }
  return groups;
}
