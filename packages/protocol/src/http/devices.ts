/** The signed-in user's push devices (`/api/v1/devices`); the bodies themselves are in ../devices.ts. */
import { z } from 'zod';
import { DeviceRegistrationBody, DeviceSchema } from '../devices.ts';
import { Id } from '../payloads.ts';
import { CommonProblems } from './common.ts';

export const DeviceListResponse = z.object({ devices: z.array(DeviceSchema) });
export type DeviceListResponse = z.infer<typeof DeviceListResponse>;
export const DeviceResponse = z.object({ device: DeviceSchema });
export type DeviceResponse = z.infer<typeof DeviceResponse>;
/** The VAPID public key a browser subscribes with (PushManager.subscribe's applicationServerKey). */
export const WebPushKeyResponse = z.object({ public_key: z.string() });
export type WebPushKeyResponse = z.infer<typeof WebPushKeyResponse>;
export const DeviceIdParams = z.object({ device_id: Id });
/** 204: no body. */
export const NoContent = z.null();

export const DeviceSchemas = {
  list: { response: { 200: DeviceListResponse, 401: CommonProblems[401] } },
  /** 404 when the server has no Web Push provider. */
  webPushKey: { response: { 200: WebPushKeyResponse, ...CommonProblems } },
  /** 201 new, 200 already known (updated, and now the caller's). */
  register: { body: DeviceRegistrationBody, response: { 200: DeviceResponse, 201: DeviceResponse, ...CommonProblems } },
  remove: { params: DeviceIdParams, response: { 204: NoContent, ...CommonProblems } },
} as const;
