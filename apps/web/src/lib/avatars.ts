/**
 * Avatars without pictures (issue #17, item 6): a person's initials on a colour of their own.
 * Pure functions, so the list, the thread and the tests agree.
 */

/**
 * Words a clinic puts after a surname instead of a given name (王小姐, 张顾问, 刘医生): the part
 * before them is the surname, and that is what tells two such people apart ("顾问" would not).
 * Longest first, so 管理员 wins over a shorter match.
 */
const HONORIFICS = [
  '管理员',
  '小姐',
  '女士',
  '先生',
  '顾问',
  '医生',
  '医师',
  '大夫',
  '护士',
  '老师',
  '主任',
  '经理',
  '院长',
] as const;

/** Han characters (CJK ideographs, extension A and compatibility ideographs). */
const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;

/**
 * What the avatar shows for a display name.
 *
 * Chinese names: the last two characters, as DingTalk, Feishu and WeCom draw their default
 * avatars — the given name, which is how colleagues and clients address each other (张三丰 → 三丰,
 * 李娜 → 李娜), and two characters still fit a 40 px circle. The surname alone (WeChat-style first
 * character) would make 张伟 and 张敏 look the same. A name ending in an honorific or a job title
 * (王小姐, 张顾问) shows what precedes it: the surname (王, 张; 欧阳医生 → 欧阳).
 *
 * Other names: the first letter of the first two words, upper-cased (Anna Lee → AL, admin → A).
 * Empty: "?".
 */
export function initials(displayName: string): string {
  const name = displayName.trim().replace(/\s+/g, ' ');
  if (!name) return '?';
  if (HAN.test([...name].at(-1) ?? '')) {
    // Spaces inside a Chinese name (陈 思 远) are typing, not word breaks.
    const han = name.replaceAll(' ', '');
    const honorific = HONORIFICS.find((h) => han.endsWith(h) && han.length > h.length);
    const rest = [...(honorific ? han.slice(0, -honorific.length) : han)];
    return rest.slice(-2).join('');
  }
  const words = name.split(' ').filter((w) => w.length > 0);
  return words
    .slice(0, 2)
    .map((w) => [...w][0] ?? '')
    .join('')
    .toUpperCase();
}

/**
 * Background colours for white initials: each has a contrast ratio of at least 4.5:1 against
 * #fff (WCAG AA for normal text; the test checks it), and neighbours differ in hue so two people
 * in one list rarely look alike.
 */
export const AVATAR_PALETTE = [
  '#b91c1c', // red
  '#c2410c', // orange
  '#a16207', // amber
  '#4d7c0f', // lime
  '#047857', // emerald
  '#0e7490', // cyan
  '#1d4ed8', // blue
  '#4338ca', // indigo
  '#7e22ce', // purple
  '#be185d', // pink
  '#475569', // slate
] as const;

/** FNV-1a, 32 bit: tiny, fast and spreads similar ids (UUIDs differing in one digit) apart. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The person's colour: from the user id (not the name, which may change), so the same person has
 * the same colour in every list, thread, tab and device.
 */
export function avatarColor(userId: string): string {
  return AVATAR_PALETTE[fnv1a(userId) % AVATAR_PALETTE.length] ?? AVATAR_PALETTE[0];
}
