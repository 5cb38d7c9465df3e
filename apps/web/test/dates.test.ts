/**
 * The thread's calendar words (issue #17, item 6): day separators by the viewer's calendar day, in
 * an explicit time zone so the result does not depend on the machine's.
 */
import { describe, expect, it } from 'vitest';
import { clockTime, dayKey, dayLabel, fileStamp, fullTimestamp, groupByDay, listTime } from '../src/lib/dates.ts';

const SHANGHAI = 'Asia/Shanghai'; // UTC+8, no daylight saving
const NEW_YORK = 'America/New_York'; // UTC-5 / UTC-4

describe('dayKey', () => {
  it('puts one instant on different calendar days in different zones', () => {
    const instant = new Date('2026-12-03T17:30:00Z'); // 01:30 on the 4th in Shanghai, 12:30 on the 3rd in New York
    expect(dayKey(instant, SHANGHAI)).toBe('2026-12-04');
    expect(dayKey(instant, NEW_YORK)).toBe('2026-12-03');
    expect(dayKey(instant, 'UTC')).toBe('2026-12-03');
  });
});

describe('dayLabel', () => {
  // Thursday 2026-12-03, 09:00 in Shanghai.
  const now = new Date('2026-12-03T01:00:00Z');

  it('says 今天 and 昨天 by the calendar, not by 24-hour steps', () => {
    // 00:00:30 today and 23:59:30 yesterday are a minute apart but on two days.
    expect(dayLabel(new Date('2026-12-02T16:00:30Z'), now, SHANGHAI)).toBe('今天');
    expect(dayLabel(new Date('2026-12-02T15:59:30Z'), now, SHANGHAI)).toBe('昨天');
    // 32 hours ago, but only the day before on the calendar.
    expect(dayLabel(new Date('2026-12-01T17:00:00Z'), now, SHANGHAI)).toBe('昨天');
  });

  it('names the weekday within the last week, then the date, with the year only for earlier years', () => {
    expect(dayLabel(new Date('2026-11-30T04:00:00Z'), now, SHANGHAI)).toBe('星期一');
    expect(dayLabel(new Date('2026-11-27T04:00:00Z'), now, SHANGHAI)).toBe('星期五');
    expect(dayLabel(new Date('2026-11-26T04:00:00Z'), now, SHANGHAI)).toBe('11月26日'); // 7 days ago: a Thursday like today
    expect(dayLabel(new Date('2026-01-01T04:00:00Z'), now, SHANGHAI)).toBe('1月1日');
    expect(dayLabel(new Date('2025-12-31T04:00:00Z'), now, SHANGHAI)).toBe('2025年12月31日');
  });

  it('gives a message from the future (a skewed clock) its date, not 今天', () => {
    expect(dayLabel(new Date('2026-12-04T04:00:00Z'), now, SHANGHAI)).toBe('12月4日');
  });

  it('follows the zone: the same message is 今天 in Shanghai and 昨天 in New York', () => {
    const nowBoth = new Date('2026-12-03T14:00:00Z'); // 22:00 on the 3rd in Shanghai, 09:00 on the 3rd in New York
    const message = new Date('2026-12-02T17:00:00Z'); // 01:00 on the 3rd in Shanghai, 12:00 on the 2nd in New York
    expect(dayLabel(message, nowBoth, SHANGHAI)).toBe('今天');
    expect(dayLabel(message, nowBoth, NEW_YORK)).toBe('昨天');
  });

  it('counts days across a daylight-saving change (a 23-hour day)', () => {
    // New York springs forward on 2026-03-08: 03-07 12:00 to 03-08 12:00 is 23 hours, still one day.
    const now = new Date('2026-03-08T16:00:00Z'); // 12:00 EDT
    expect(dayLabel(new Date('2026-03-07T17:00:00Z'), now, NEW_YORK)).toBe('昨天'); // 12:00 EST
    expect(dayLabel(new Date('2026-03-08T05:30:00Z'), now, NEW_YORK)).toBe('今天'); // 00:30 EST, after midnight
  });
});

describe('groupByDay', () => {
  const now = new Date('2026-12-03T12:00:00Z'); // 20:00 in Shanghai
  const at = (iso: string) => ({ at: new Date(iso) });

  it('starts a group at each local midnight and keeps the thread order', () => {
    const thread = [
      at('2026-12-01T15:00:00Z'), // 23:00 on the 1st
      at('2026-12-01T15:59:59Z'), // 23:59:59 on the 1st
      at('2026-12-01T16:00:00Z'), // 00:00 on the 2nd
      at('2026-12-03T02:00:00Z'), // 10:00 on the 3rd
      at('2026-12-03T11:00:00Z'),
    ];
    const groups = groupByDay(thread, (m) => m.at, now, SHANGHAI);
    expect(groups.map((g) => [g.key, g.label, g.items.length])).toEqual([
      ['2026-12-01', '星期二', 2],
      ['2026-12-02', '昨天', 1],
      ['2026-12-03', '今天', 2],
    ]);
    expect(groups.flatMap((g) => g.items)).toEqual(thread);
  });

  it('groups the same messages differently in another zone', () => {
    const thread = [at('2026-12-01T15:00:00Z'), at('2026-12-01T16:00:00Z')];
    expect(groupByDay(thread, (m) => m.at, now, SHANGHAI).map((g) => g.key)).toEqual(['2026-12-01', '2026-12-02']);
    expect(groupByDay(thread, (m) => m.at, now, 'UTC').map((g) => g.key)).toEqual(['2026-12-01']);
  });

  it('gives a day that comes back after another (out-of-order clocks) its own group with a unique id', () => {
    const thread = [at('2026-12-03T02:00:00Z'), at('2026-12-02T02:00:00Z'), at('2026-12-03T03:00:00Z')];
    const groups = groupByDay(thread, (m) => m.at, now, SHANGHAI);
    expect(groups.map((g) => g.id)).toEqual(['2026-12-03', '2026-12-02', '2026-12-03#2']);
  });

  it('has no groups for an empty thread', () => {
    expect(groupByDay([], () => now, now, SHANGHAI)).toEqual([]);
  });
});

describe('timestamps', () => {
  const instant = new Date('2026-12-03T09:38:22Z');

  it('writes the full local date, weekday and time to the second for the hover text', () => {
    expect(fullTimestamp(instant, SHANGHAI)).toBe('2026年12月3日 星期四 17:38:22');
    expect(fullTimestamp(instant, NEW_YORK)).toBe('2026年12月3日 星期四 04:38:22');
  });

  it('shows the 24-hour clock under a bubble, midnight as 00', () => {
    expect(clockTime(instant, SHANGHAI)).toBe('17:38');
    expect(clockTime(new Date('2026-12-03T16:05:00Z'), SHANGHAI)).toBe('00:05');
  });

  it("gives the list the clock for today's last message and the day's words before", () => {
    const now = new Date('2026-12-03T12:00:00Z'); // 20:00 in Shanghai
    expect(listTime(instant, now, SHANGHAI)).toBe('17:38');
    expect(listTime(new Date('2026-12-02T12:00:00Z'), now, SHANGHAI)).toBe('昨天');
    expect(listTime(new Date('2026-11-20T12:00:00Z'), now, SHANGHAI)).toBe('11月20日');
  });

  it('stamps voice-note file names with the local date and time', () => {
    expect(fileStamp(instant, SHANGHAI)).toBe('20261203-173822');
    // Just after local midnight: the local date, not UTC's day before.
    expect(fileStamp(new Date('2026-12-03T16:00:05Z'), SHANGHAI)).toBe('20261204-000005');
  });
});
