import Link from 'next/link';
import type { Role } from '../lib/session.ts';

/**
 * The thread pane when no conversation is open. An admin takes part in no conversation (unless
 * added): the pane says what this page is for them and where their tools are, instead of staying blank.
 */
export function EmptyThread({ role, hasConversations }: { role: Role; hasConversations: boolean }) {
  if (hasConversations) return <div className="empty-thread muted">请选择一个会话</div>;
  // Others see "暂无会话" in the list already.
  if (role !== 'admin') return <div className="empty-thread muted" />;
  return (
    <div className="empty-thread empty-thread-admin" data-testid="admin-empty-thread">
      <h2>管理员的咨询页</h2>
      <p className="muted">管理员不参与会话；发给所有人的系统通知会在本页弹出提示。</p>
      <p className="muted">要给某个会话发通知、查看在线用户和实时统计，请前往管理后台。</p>
      <Link className="btn btn-primary" href="/admin">
        前往管理后台
      </Link>
    </div>
  );
}
