/** Avatars with initials (issue #17, item 6): what the circle shows, and a readable, stable colour per person. */
import { describe, expect, it } from 'vitest';
import { AVATAR_PALETTE, avatarColor, initials } from '../src/lib/avatars.ts';

describe('initials', () => {
  it('shows the given name of a Chinese name: its last two characters', () => {
    expect(initials('张三丰')).toBe('三丰');
    expect(initials('李娜')).toBe('李娜');
    expect(initials('王')).toBe('王');
    expect(initials('  陈 思 远 ')).toBe('思远');
  });

  it('shows the surname before an honorific or job title (the demo accounts are named so)', () => {
    expect(initials('王小姐')).toBe('王');
    expect(initials('李先生')).toBe('李');
    expect(initials('张顾问')).toBe('张');
    expect(initials('刘医生')).toBe('刘');
    expect(initials('欧阳医生')).toBe('欧阳');
    expect(initials('系统管理员')).toBe('系统');
    // The word alone is a name like any other.
    expect(initials('医生')).toBe('医生');
  });

  it('shows the first letters of the first two words of other names, upper-cased', () => {
    expect(initials('Anna Lee')).toBe('AL');
    expect(initials('anna maria lee')).toBe('AM');
    expect(initials('admin')).toBe('A');
  });

  it('shows "?" for an empty name', () => {
    expect(initials('')).toBe('?');
    expect(initials('   ')).toBe('?');
  });
});

/** WCAG 2 relative luminance and contrast ratio. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrastWithWhite = (hex: string) => 1.05 / (luminance(hex) + 0.05);

describe('avatarColor', () => {
  it('is the same colour for the same user id, every time', () => {
    const id = '0b7f3c1e-6a2d-4c4e-9a57-3f1d2b8c9e01';
    expect(avatarColor(id)).toBe(avatarColor(`${id}`));
    expect(AVATAR_PALETTE).toContain(avatarColor(id));
  });

  it('spreads user ids over the palette', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(avatarColor(id), (counts.get(avatarColor(id)) ?? 0) + 1);
    // Ids differing in one digit land on every colour, none on more than twice its share.
    expect(counts.size).toBe(AVATAR_PALETTE.length);
    const share = ids.length / AVATAR_PALETTE.length;
    for (const [colour, n] of counts) expect(n, colour).toBeLessThanOrEqual(2 * share);
  });

  it('has white initials readable on every colour (contrast at least 4.5:1)', () => {
    for (const colour of AVATAR_PALETTE) expect(contrastWithWhite(colour), colour).toBeGreaterThanOrEqual(4.5);
  });
});
