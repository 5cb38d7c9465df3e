/** Admin-only endpoints: system notices, direct and mobile-only notifications, devices, stats. */
import { z } from 'zod';
import { PUSH_PRIORITIES } from '../domain.ts';
import { DeviceInfo, Id } from '../payloads.ts';
import { StorableJsonObject, StorableText } from '../storable.ts';
import { CommonProblems } from './common.ts';

const Data = StorableJsonObject.optional();

/** conversation_id null: a notice to everyone connected (the global stream). */
export const AdminNotificationBody = z.strictObject({
  conversation_id: Id.nullable(),
  title: StorableText.min(1).max(200),
  message: StorableText.min(1).max(2000),
  type: StorableText.min(1).max(64).default('announcement'),
  data: Data,
});
export type AdminNotificationBody = z.input<typeof AdminNotificationBody>;

export const MobileNotificationBody = z.strictObject({
  conversation_id: Id,
  title: StorableText.min(1).max(200),
  content: StorableText.min(1).max(2000),
  action: StorableText.max(64).optional(),
  priority: z.enum(PUSH_PRIORITIES).optional(),
  data: Data,
});
export type MobileNotificationBody = z.input<typeof MobileNotificationBody>;

export const DirectMessageBody = z.strictObject({
  user_id: Id,
  title: StorableText.max(200).optional(),
  content: StorableText.min(1).max(2000),
  type: StorableText.max(64).optional(),
  data: Data,
});
export type DirectMessageBody = z.input<typeof DirectMessageBody>;

/** `push_queued`: a push decision was stored; the push queue notifies whoever is offline, after this answer. */
export const BroadcastOutcome = z.object({ ok: z.boolean(), delivered: z.number(), push_queued: z.boolean() });
export type BroadcastOutcome = z.infer<typeof BroadcastOutcome>;

export const UserIdParams = z.object({ user_id: Id });
/** A user's connected devices on every instance (getUserDeviceInfo). */
export const UserDevicesResponse = z.object({ user_id: z.string(), devices: z.array(DeviceInfo) });
export type UserDevicesResponse = z.infer<typeof UserDevicesResponse>;

const Counts = z.record(z.string(), z.number());
/** Sends by state; success_rate = delivered ÷ (delivered + failed + expired), null when none finished. */
const ProviderSends = z.object({
  delivered: z.number(),
  failed: z.number(),
  expired: z.number(),
  success_rate: z.number().nullable(),
});

export const AdminStatsResponse = z.object({
  /** Cluster-wide, from presence. */
  online_users: z.number(),
  connections: z.number(),
  by_device_type: Counts,
  by_role: Counts,
  by_instance: Counts,
  push: z.object({
    providers: z.array(z.string()),
    /** Cluster-wide over the finished pushes still retained (PUSH_RETENTION): delivered ÷ attempted. */
    success_rate: z.number().nullable(),
    queue: z.object({
      pending: z.number(),
      oldest_pending_age_seconds: z.number().nullable(),
      delivered: z.number(),
      failed: z.number(),
      expired: z.number(),
    }),
    by_provider: z.record(z.string(), ProviderSends),
    /** This instance since it started: every provider attempt's outcome. */
    instance: z.object({
      instance_id: z.string(),
      attempts: Counts,
      by_provider: z.record(z.string(), Counts),
      decisions: z.number(),
      queued: z.number(),
      success_rate: z.number().nullable(),
    }),
  }),
});
export type AdminStatsResponse = z.infer<typeof AdminStatsResponse>;

export const AdminSchemas = {
  notify: { body: AdminNotificationBody, response: { 200: BroadcastOutcome, ...CommonProblems } },
  mobileNotify: { body: MobileNotificationBody, response: { 200: BroadcastOutcome, ...CommonProblems } },
  directMessage: { body: DirectMessageBody, response: { 200: BroadcastOutcome, ...CommonProblems } },
  userDevices: { params: UserIdParams, response: { 200: UserDevicesResponse, ...CommonProblems } },
  stats: { response: { 200: AdminStatsResponse, ...CommonProblems } },
} as const;
