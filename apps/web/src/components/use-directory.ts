'use client';

import { useEffect, useRef, useState } from 'react';
import { type DirectoryEntry, directory } from '../lib/api.ts';

/**
 * Staff accounts of `roles` from GET /api/v1/directory, in that order, loaded while `enabled`
 * (again each time it turns on): null while loading, [] after a failure, which goes to `onFailed`.
 */
export function useDirectory(
  roles: ReadonlyArray<'consultant' | 'doctor'>,
  enabled: boolean,
  onFailed: (error: unknown) => void,
): DirectoryEntry[] | null {
  const [entries, setEntries] = useState<DirectoryEntry[] | null>(null);
  const key = roles.join(',');
  // onFailed is read when the request ends, not a reason to load again.
  const failed = useRef(onFailed);
  failed.current = onFailed;
  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    setEntries(null);
    Promise.all(key.split(',').map((role) => directory(role as 'consultant' | 'doctor')))
      .then((answers) => {
        if (!cancelled) setEntries(answers.flatMap((a) => a.users));
      })
      .catch((error: unknown) => {
        if (cancelled) return;
        setEntries([]);
        failed.current(error);
      });
    return () => {
      cancelled = true;
    };
  }, [key, enabled]);
  return entries;
}
