'use client';

import { useCallback, useEffect, useState } from 'react';
import { api } from '../../lib/api.ts';
import { ROLE_LABELS, type Role, type SessionUser } from '../../lib/session.ts';
import { FALLBACKS, userMessage } from '../../lib/user-messages.ts';

interface AdminUser extends SessionUser {
  online: boolean;
}
interface Device {
  connection_id: string;
  device_type: string;
  connected_at: string;
  instance_id: string;
}

export const DEVICE_LABELS: Record<string, string> = { mobile: '手机', desktop: '电脑', tablet: '平板' };

/** Who is online, and each online user's devices (getUserDeviceInfo). Reloaded when presence figures change. */
export function UserMonitor({ version }: { version: string }) {
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [devices, setDevices] = useState<Record<string, Device[]>>({});
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const { users: all } = await api<{ users: AdminUser[] }>('/api/v1/admin/users');
      setUsers(all);
      const online = all.filter((u) => u.online);
      const lists = await Promise.all(
        online.map((u) =>
          api<{ devices: Device[] }>(`/api/v1/admin/users/${encodeURIComponent(u.id)}/devices`).then(
            (r) => [u.id, r.devices] as const,
          ),
        ),
      );
      setDevices(Object.fromEntries(lists));
      setError(null);
    } catch (e) {
      setError(userMessage(e, FALLBACKS.adminUsers));
    }
  }, []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the presence figures change
  useEffect(() => {
    void load();
  }, [load, version]);
  const sorted = [...users].sort((a, b) => Number(b.online) - Number(a.online));
  return (
    <section className="card" aria-labelledby="users-title">
      <h2 id="users-title">用户监控</h2>
      {error ? <p className="error">{error}</p> : null}
      <table className="table" data-testid="user-table">
        <thead>
          <tr>
            <th>用户</th>
            <th>角色</th>
            <th>状态</th>
            <th>设备</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((u) => (
            <tr key={u.id} data-testid="user-row" data-username={u.username} data-online={u.online}>
              <td>
                {u.display_name}
                <small className="muted block">{u.username}</small>
              </td>
              <td>{ROLE_LABELS[u.role as Role]}</td>
              <td>
                <span className={`dot ${u.online ? 'online' : 'offline'}`} />
                {u.online ? '在线' : '离线'}
              </td>
              <td>
                {(devices[u.id] ?? []).map((d) => (
                  <span key={d.connection_id} className="device" title={`${d.connection_id} @ ${d.instance_id}`}>
                    {DEVICE_LABELS[d.device_type] ?? d.device_type} ·{' '}
                    {new Date(d.connected_at).toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit' })}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
