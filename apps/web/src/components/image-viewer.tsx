'use client';

import { useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';

/**
 * An image attachment in the thread: the thumbnail is a button that opens the full image in a
 * modal <dialog> (issue #17, item 6) instead of the raw file in a new tab. The native dialog gives
 * the keyboard behaviour for free: focus moves into it, Tab stays inside, Esc closes it, and focus
 * returns to the thumbnail. A click on the dark area around the image closes it too.
 *
 * `url` is the web app's own /api/v1/… proxy, which adds the session's token: the thumbnail and the
 * viewer load the same URL, so the full image usually comes from the browser's cache.
 */
export function ImageAttachment({ url, name }: { url: string; name: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="msg-image-button"
        data-testid="image-thumb"
        aria-label={`查看大图：${name}`}
        onClick={() => setOpen(true)}
      >
        {/* biome-ignore lint/performance/noImgElement: served by the authenticated proxy, not for next/image optimisation */}
        <img className="msg-image" src={url} alt={name} />
      </button>
      {/* In <body>, not in the bubble: the bubble's styles and its hover title (the time) stay out of the viewer. */}
      {open ? createPortal(<ImageViewer url={url} name={name} onClose={() => setOpen(false)} />, document.body) : null}
    </>
  );
}

function ImageViewer({ url, name, onClose }: { url: string; name: string; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    el.showModal();
    // The close button first (React's autoFocus runs before showModal, while the dialog is hidden):
    // Enter or Space closes at once, Tab reaches 原图.
    closeButton.current?.focus();
    // Esc (the dialog's own "cancel"), the close button and the backdrop all end in "close".
    const closed = () => onCloseRef.current();
    el.addEventListener('close', closed);
    return () => {
      el.removeEventListener('close', closed);
      if (el.open) el.close();
    };
  }, []);

  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the keyboard closes it with Esc or the close button; the click is for pointers outside the image
    <dialog
      ref={dialog}
      className="image-viewer"
      aria-label={`图片：${name}`}
      data-testid="image-viewer"
      onClick={(e) => {
        // Only a click on the dark area (the dialog or the stage around the image), not on the image or a button.
        const target = e.target as HTMLElement;
        if (target === e.currentTarget || target.classList.contains('image-viewer-stage')) dialog.current?.close();
      }}
    >
      <div className="image-viewer-bar">
        <span className="image-viewer-name">{name}</span>
        <a className="image-viewer-original" href={url} target="_blank" rel="noreferrer">
          原图
        </a>
        <button
          type="button"
          className="image-viewer-close"
          data-testid="image-viewer-close"
          aria-label="关闭"
          ref={closeButton}
          onClick={() => dialog.current?.close()}
        >
          ✕
        </button>
      </div>
      <div className="image-viewer-stage">
        {/* biome-ignore lint/performance/noImgElement: served by the authenticated proxy, not for next/image optimisation */}
        <img className="image-viewer-img" src={url} alt={name} />
      </div>
    </dialog>
  );
}
