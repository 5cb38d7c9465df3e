/** Demo accounts and conversations so a fresh install can be tried immediately. */
import type { Role } from '@anmei/protocol';
import type { ConversationRow, Store, UserRow } from './store-types.ts';

/** Shared password of every demo account. Demo data only; never seed production. */
export const DEMO_PASSWORD = 'demo1234';

export const DEMO_USERS: ReadonlyArray<{ username: string; displayName: string; role: Role }> = [
  { username: 'customer_456', displayName: '王小姐', role: 'customer' },
  { username: 'customer_789', displayName: '李先生', role: 'customer' },
  { username: 'consultant_001', displayName: '张顾问', role: 'consultant' },
  { username: 'doctor_001', displayName: '刘医生', role: 'doctor' },
  // Last on purpose: its existence marks a completed seed (see seedDemoData).
  { username: 'admin', displayName: '系统管理员', role: 'admin' },
];

const DEMO_CONVERSATIONS = [
  {
    title: '王小姐的面部护理咨询',
    members: ['customer_456', 'consultant_001', 'doctor_001'],
    messages: [
      { from: 'customer_456', content: '您好，我想了解一下面部护理项目，最近皮肤比较干燥。' },
      { from: 'consultant_001', content: '王小姐您好！我是张顾问，稍后刘医生也会为您提供专业建议。' },
    ],
  },
  {
    title: '李先生的术后复诊',
    members: ['customer_789', 'consultant_001'],
    messages: [{ from: 'consultant_001', content: '李先生您好，术后恢复情况怎么样？请按时来院复诊。' }],
  },
] as const;

const DEMO_TITLES: ReadonlySet<string> = new Set(DEMO_CONVERSATIONS.map((c) => c.title));

export interface SeedResult {
  /** false when the data already existed and nothing was written. */
  created: boolean;
  users: UserRow[];
  conversations: ConversationRow[];
}

/**
 * Idempotent: if user `admin` exists nothing is written and the existing demo rows are returned.
 * `admin` is created last, so a seed interrupted earlier is completed on the next run
 * (users are found-or-created; conversations would be created again).
 */
export async function seedDemoData(
  store: Store,
  hashPassword: (plain: string) => Promise<string>,
): Promise<SeedResult> {
  if (await store.users.findByUsername('admin')) {
    return { created: false, users: await findDemoUsers(store), conversations: await findDemoConversations(store) };
  }

  const byUsername = new Map<string, UserRow>();
  const ensureUser = async (spec: (typeof DEMO_USERS)[number]) => {
    const user =
      (await store.users.findByUsername(spec.username)) ??
      (await store.users.create({ ...spec, passwordHash: await hashPassword(DEMO_PASSWORD) }));
    byUsername.set(user.username, user);
  };
  const admin = DEMO_USERS.find((u) => u.username === 'admin')!;
  for (const spec of DEMO_USERS) if (spec !== admin) await ensureUser(spec);

  const conversations: ConversationRow[] = [];
  for (const demo of DEMO_CONVERSATIONS) {
    const members = demo.members.map((username) => byUsername.get(username)!);
    const conversation = await store.conversations.create({
      title: demo.title,
      createdBy: members[0]!.id,
      participants: members.map((u) => ({ userId: u.id, role: u.role })),
    });
    for (const message of demo.messages) {
      await store.messages.append({
        conversationId: conversation.id,
        senderId: byUsername.get(message.from)!.id,
        clientMessageId: null,
        messageType: 'text',
        content: message.content,
      });
    }
    conversations.push((await store.conversations.findById(conversation.id))!);
  }

  await ensureUser(admin);
  return { created: true, users: DEMO_USERS.map((u) => byUsername.get(u.username)!), conversations };
}

async function findDemoUsers(store: Store): Promise<UserRow[]> {
  const found = await Promise.all(DEMO_USERS.map((u) => store.users.findByUsername(u.username)));
  return found.filter((u): u is UserRow => u !== null);
}

/** The demo conversations are the ones with demo titles that include a demo customer. */
async function findDemoConversations(store: Store): Promise<ConversationRow[]> {
  const rows = new Map<string, ConversationRow>();
  for (const username of ['customer_456', 'customer_789']) {
    const user = await store.users.findByUsername(username);
    if (!user) continue;
    const summaries = await store.conversations.listForUser(user.id);
    for (const { participants: _p, lastMessage: _m, unreadCount: _u, ...row } of summaries) {
      if (DEMO_TITLES.has(row.title)) rows.set(row.id, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}
