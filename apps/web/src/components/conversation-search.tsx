'use client';

/**
 * The search box above a consultant's or doctor's conversation list (issue #17, item 6): filters
 * the loaded list as one types (lib/conversation-search.ts) and says so when nothing matches.
 */
export function ConversationSearch({
  value,
  onChange,
  total,
  found,
}: {
  value: string;
  onChange: (value: string) => void;
  /** Conversations in the list, and how many match `value`. */
  total: number;
  found: number;
}) {
  const searching = value.trim() !== '';
  return (
    <div className="conv-search">
      <input
        type="search"
        className="conv-search-input"
        data-testid="conversation-search"
        placeholder="搜索会话、客户或消息"
        aria-label="搜索会话（标题、参与者姓名或最后一条消息）"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && value) {
            e.preventDefault();
            onChange('');
          }
        }}
        enterKeyHint="search"
        autoComplete="off"
      />
      {searching && total > 0 && found === 0 ? (
        <p className="muted pad conv-search-empty" data-testid="conversation-search-empty" role="status">
          没有找到与“{value.trim()}”相关的会话
        </p>
      ) : null}
    </div>
  );
}
