import { avatarColor, initials } from '../lib/avatars.ts';

/**
 * A person's initials on their colour (lib/avatars.ts). Decorative: the name is always written next
 * to it, so screen readers skip it. `children`: overlays such as the presence dot.
 */
export function Avatar({
  userId,
  name,
  size = 'normal',
  children,
}: {
  userId: string;
  name: string;
  size?: 'normal' | 'small';
  children?: React.ReactNode;
}) {
  const text = initials(name);
  return (
    <span
      className={`avatar avatar-initials ${size === 'small' ? 'avatar-small' : ''} ${[...text].length > 1 ? 'avatar-two' : ''}`}
      style={{ background: avatarColor(userId) }}
      data-testid="avatar"
      data-user-id={userId}
      title={name}
      aria-hidden="true"
    >
      {text}
      {children}
    </span>
  );
}
