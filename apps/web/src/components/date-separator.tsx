/** The line between two days of a thread: 今天, 昨天, 星期三, 3月5日 (lib/dates.ts). */
export function DateSeparator({ label, day }: { label: string; day: string }) {
  return (
    // A separator in the sense of ARIA: screen readers announce the day change between messages.
    // biome-ignore lint/a11y/useSemanticElements: <hr> cannot hold the day's text
    <div className="date-separator" role="separator" aria-label={label} data-testid="date-separator" data-day={day}>
      <span>{label}</span>
    </div>
  );
}
