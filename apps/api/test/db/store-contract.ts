/**
 * The behaviour every Store must have, whatever the driver. Run by pglite.test.ts and
 * postgres.test.ts. One database per run; tests isolate themselves with fresh random users.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDatabase } from '../../src/db/open-database.ts';
import { DEMO_USERS, seedDemoData } from '../../src/db/seed.ts';
import { UsernameTakenError } from '../../src/db/store.ts';
import type { Store } from '../../src/db/store-types.ts';
import { fixtures, uniqueName } from './fixtures.ts';
import { describeEventsContract } from './store-contract-events.ts';
import { describeMessageContract } from './store-contract-messages.ts';
import { describePushQueueContract } from './store-contract-push.ts';
import { describeInboxContract } from './store-contract-reads.ts';

export function describeStoreContract(name: string, open: () => Promise<OpenedDatabase>): void {
  describe(`Store contract: ${name}`, () => {
    let opened: OpenedDatabase | undefined;
    const store = (): Store => {
      if (!opened) throw new Error('database was not opened (see the beforeAll error above)');
      return opened.store;
    };
    const make = fixtures(store);

    beforeAll(async () => {
      opened = await open();
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('answers ping', async () => {
      await expect(store().ping()).resolves.toBeUndefined();
    });

    describe('users', () => {
      it('creates a user and finds it by id and by username', async () => {
        const username = uniqueName('alice');
        const created = await store().users.create({
          username,
          displayName: '王小姐',
          role: 'customer',
          passwordHash: 'argon2-hash',
        });
        expect(created).toMatchObject({
          username,
          displayName: '王小姐',
          role: 'customer',
          passwordHash: 'argon2-hash',
        });
        expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(created.createdAt).toBeInstanceOf(Date);
        expect(await store().users.findById(created.id)).toEqual(created);
        expect(await store().users.findByUsername(username)).toEqual(created);
      });

      it('returns null for an unknown id or username', async () => {
        expect(await store().users.findById(crypto.randomUUID())).toBeNull();
        expect(await store().users.findByUsername(uniqueName('nobody'))).toBeNull();
      });

      it('rejects a second user with the same username with UsernameTakenError', async () => {
        const first = await make.user();
        const again = store().users.create({
          username: first.username,
          displayName: 'x',
          role: 'doctor',
          passwordHash: 'h',
        });
        await expect(again).rejects.toBeInstanceOf(UsernameTakenError);
        await expect(again).rejects.toThrow(first.username);
      });

      it('lists all users or only those with a given role', async () => {
        const doctor = await make.user('doctor');
        const customer = await make.user('customer');
        const all = await store().users.list();
        expect(all.map((u) => u.id)).toEqual(expect.arrayContaining([doctor.id, customer.id]));
        const doctors = await store().users.list({ role: 'doctor' });
        expect(doctors.map((u) => u.id)).toContain(doctor.id);
        expect(doctors.every((u) => u.role === 'doctor')).toBe(true);
      });
    });

    describe('conversations', () => {
      it('creates a conversation with its participants, starting at lastSeq 0', async () => {
        const customer = await make.user('customer');
        const consultant = await make.user('consultant');
        const conversation = await make.conversation(customer, consultant);
        expect(conversation).toMatchObject({ createdBy: customer.id, lastSeq: 0 });
        expect(await store().conversations.findById(conversation.id)).toEqual(conversation);

        const members = await store().conversations.participants(conversation.id);
        expect(members.map((p) => [p.userId, p.role, p.lastReadSeq]).sort()).toEqual(
          [
            [customer.id, 'customer', 0],
            [consultant.id, 'consultant', 0],
          ].sort(),
        );
        expect(members[0]!.joinedAt).toBeInstanceOf(Date);
      });

      it('returns null for an unknown conversation id', async () => {
        expect(await store().conversations.findById(crypto.randomUUID())).toBeNull();
      });

      it('reports participation only for members', async () => {
        const customer = await make.user();
        const outsider = await make.user();
        const conversation = await make.conversation(customer);
        expect(await store().conversations.isParticipant(conversation.id, customer.id)).toBe(true);
        expect(await store().conversations.isParticipant(conversation.id, outsider.id)).toBe(false);
        expect(await store().conversations.isParticipant(crypto.randomUUID(), customer.id)).toBe(false);
      });

      it('adds a participant once; adding again changes nothing', async () => {
        const customer = await make.user();
        const doctor = await make.user('doctor');
        const conversation = await make.conversation(customer);
        const message = await make.send(conversation, customer);
        await store().conversations.addParticipant(conversation.id, doctor.id, 'doctor');
        await store().messages.recordRead(conversation.id, doctor.id, [message.id]);
        await store().conversations.addParticipant(conversation.id, doctor.id, 'consultant');

        expect(await store().conversations.isParticipant(conversation.id, doctor.id)).toBe(true);
        const members = await store().conversations.participants(conversation.id);
        expect(members).toHaveLength(2);
        expect(members.find((p) => p.userId === doctor.id)).toMatchObject({ role: 'doctor', lastReadSeq: 1 });
      });

      it('tells which candidates share a conversation with a user, each once', async () => {
        const customer = await make.user();
        const consultant = await make.user('consultant');
        const doctor = await make.user('doctor');
        const stranger = await make.user();
        const first = await make.conversation(customer, consultant);
        await make.conversation(customer, consultant);
        await store().conversations.addParticipant(first.id, doctor.id, 'doctor');
        const candidates = [consultant.id, doctor.id, stranger.id, crypto.randomUUID()];
        expect((await store().conversations.sharingWith(customer.id, candidates)).sort()).toEqual(
          [consultant.id, doctor.id].sort(),
        );
        expect(await store().conversations.sharingWith(stranger.id, [customer.id])).toEqual([]);
        expect(await store().conversations.sharingWith(customer.id, [])).toEqual([]);
      });

      it('removes a participant once; removing again reports false', async () => {
        const customer = await make.user();
        const doctor = await make.user('doctor');
        const conversation = await make.conversation(customer);
        await store().conversations.addParticipant(conversation.id, doctor.id, 'doctor');
        expect(await store().conversations.removeParticipant(conversation.id, doctor.id)).toBe(true);
        expect(await store().conversations.isParticipant(conversation.id, doctor.id)).toBe(false);
        expect(await store().conversations.removeParticipant(conversation.id, doctor.id)).toBe(false);
        expect(await store().conversations.isParticipant(conversation.id, customer.id)).toBe(true);
      });

      it('renames a conversation; an unknown one is reported, not created', async () => {
        const conversation = await make.conversation(await make.user());
        expect(await store().conversations.rename(conversation.id, '术后复诊（第二次）')).toBe(true);
        expect((await store().conversations.findById(conversation.id))?.title).toBe('术后复诊（第二次）');
        expect(await store().conversations.rename('00000000-0000-4000-8000-000000000000', 'x')).toBe(false);
      });
    });

    describeMessageContract(store);
    describeInboxContract(store);
    describeEventsContract(store);
    describePushQueueContract(store);

    describe('seedDemoData', () => {
      it('creates the demo users and conversations once, then returns them without writing', async () => {
        const hash = async (plain: string) => `hashed:${plain}`;
        const first = await seedDemoData(store(), hash);
        expect(first.created).toBe(true);
        expect(first.users.map((u) => u.username)).toEqual(DEMO_USERS.map((u) => u.username));
        expect(first.users.every((u) => u.passwordHash === 'hashed:demo1234')).toBe(true);
        expect(first.conversations.map((c) => c.title)).toEqual(['王小姐的面部护理咨询', '李先生的术后复诊']);
        expect(first.conversations.every((c) => c.lastSeq >= 1)).toBe(true);

        const wang = first.users.find((u) => u.username === 'customer_456')!;
        const [facial] = await store().conversations.listForUser(wang.id);
        expect(facial!.participants.map((p) => p.displayName).sort()).toEqual(['刘医生', '张顾问', '王小姐'].sort());

        const second = await seedDemoData(store(), hash);
        expect(second.created).toBe(false);
        expect(second.users).toEqual(first.users);
        expect(second.conversations).toEqual(first.conversations);
        expect(await store().users.list({ role: 'admin' })).toHaveLength(1);
      });
    });
  });
}
