'use client';

import { newClientMessageId } from '@anmei/client';
import { useWebSocketClient } from '@anmei/react';
import { type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { checkUpload, DOCUMENT_TYPES, IMAGE_TYPES, uploadAttachment } from '../lib/api.ts';
import { fileStamp } from '../lib/dates.ts';
import { formatDuration, fromWire, type ViewMessage } from '../lib/messages.ts';
import { APP_TEXTS, uploadFailureText } from '../lib/user-messages.ts';

interface Props {
  conversationId: string;
  me: string;
  connected: boolean;
  /** Our own message before it is stored (optimistic). Its ack or failure comes as the client's `sent`/`sendFailed`. */
  onLocal: (message: ViewMessage) => void;
  /** A stored upload. */
  onStored: (message: ViewMessage) => void;
}

interface Upload {
  id: string;
  name: string;
  progress: number;
}

const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 2500;

export function Composer({ conversationId, me, connected, onLocal, onStored }: Props) {
  const client = useWebSocketClient();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [recording, setRecording] = useState<{ startedAt: number; elapsed: number } | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const typingSentAt = useRef(0);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const recorder = useRef<MediaRecorder | null>(null);

  const stopTyping = () => {
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = null;
    if (typingSentAt.current !== 0) {
      typingSentAt.current = 0;
      client.sendTyping(conversationId, false);
    }
  };

  // Leaving the conversation stops "typing" and any recording.
  // biome-ignore lint/correctness/useExhaustiveDependencies: run on unmount only
  useEffect(
    () => () => {
      stopTyping();
      recorder.current?.stop();
    },
    [],
  );

  useEffect(() => {
    if (!recording) return;
    const timer = setInterval(() => setRecording((r) => (r ? { ...r, elapsed: Date.now() - r.startedAt } : r)), 250);
    return () => clearInterval(timer);
  }, [recording]);

  function onChange(value: string) {
    setText(value);
    if (value.trim() === '') {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSentAt.current > TYPING_REFRESH_MS) {
      if (client.sendTyping(conversationId, true)) typingSentAt.current = now;
    }
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function send() {
    const content = text.trim();
    if (!content) return;
    setText('');
    setError(null);
    stopTyping();
    const clientMessageId = newClientMessageId();
    const local: ViewMessage = {
      key: clientMessageId,
      id: null,
      seq: null,
      senderId: me,
      type: 'text',
      content,
      metadata: null,
      createdAt: new Date(),
      clientMessageId,
      pending: 'sending',
    };
    onLocal(local);
    // The outbox queues it while offline (and keeps it across a reload) and resends it with the
    // same id after a reconnect. The chat view shows its outcome from the client's events, which
    // also cover messages restored after a reload.
    client.send(conversationId, content, { clientMessageId }).catch(() => undefined);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  function upload(file: Blob, name: string, durationMs?: number) {
    const problem = checkUpload({ size: file.size, type: file.type, name });
    if (problem) {
      setError(problem);
      return;
    }
    setError(null);
    const id = crypto.randomUUID();
    setUploads((list) => [...list, { id, name, progress: 0 }]);
    const { promise } = uploadAttachment(
      conversationId,
      file,
      name,
      { clientMessageId: id, ...(durationMs !== undefined ? { durationMs } : {}) },
      (progress) => setUploads((list) => list.map((u) => (u.id === id ? { ...u, progress } : u))),
    );
    promise
      .then((result) => onStored(fromWire(result.message)))
      .catch((e: unknown) => setError(uploadFailureText(e)))
      .finally(() => setUploads((list) => list.filter((u) => u.id !== id)));
  }

  async function toggleRecording() {
    if (recorder.current) {
      recorder.current.stop();
      return;
    }
    setError(null);
    if (typeof MediaRecorder === 'undefined' || !navigator.mediaDevices?.getUserMedia) {
      setError(APP_TEXTS.noRecorder);
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      setError(APP_TEXTS.noMicrophone);
      return;
    }
    const mimeType = MediaRecorder.isTypeSupported('audio/webm;codecs=opus') ? 'audio/webm;codecs=opus' : 'audio/webm';
    const rec = new MediaRecorder(stream, { mimeType });
    const chunks: Blob[] = [];
    const startedAt = Date.now();
    rec.ondataavailable = (event) => {
      if (event.data.size > 0) chunks.push(event.data);
    };
    rec.onstop = () => {
      for (const track of stream.getTracks()) track.stop();
      recorder.current = null;
      setRecording(null);
      const durationMs = Date.now() - startedAt;
      const blob = new Blob(chunks, { type: 'audio/webm' });
      if (durationMs < 500 || blob.size === 0) {
        setError(APP_TEXTS.recordingTooShort);
        return;
      }
      // The user's clock, not UTC: 语音-20261203-173822.webm reads as when she recorded it.
      upload(blob, `语音-${fileStamp(new Date(startedAt))}.webm`, durationMs);
    };
    recorder.current = rec;
    rec.start(250);
    setRecording({ startedAt, elapsed: 0 });
  }

  return (
    <div className="composer">
      {uploads.map((u) => (
        <div key={u.id} className="upload" data-testid="upload-progress">
          <span className="upload-name">{u.name}</span>
          <progress max={1} value={u.progress} aria-label={`上传 ${u.name}`} />
          <span className="muted">{Math.round(u.progress * 100)}%</span>
        </div>
      ))}
      {error ? (
        <p className="error" role="alert" data-testid="composer-error">
          {error}
        </p>
      ) : null}
      <div className="composer-row">
        <button
          type="button"
          className="btn btn-icon"
          title="发送图片或文件"
          aria-label="发送图片或文件"
          onClick={() => fileInput.current?.click()}
        >
          📎
        </button>
        <input
          ref={fileInput}
          type="file"
          hidden
          data-testid="file-input"
          accept={[...IMAGE_TYPES, ...DOCUMENT_TYPES, '.doc,.docx,.xls,.xlsx,.pdf,.txt,.zip'].join(',')}
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = '';
            if (file) upload(file, file.name);
          }}
        />
        <button
          type="button"
          className={`btn btn-icon ${recording ? 'recording' : ''}`}
          data-testid="voice-button"
          aria-pressed={recording !== null}
          title={recording ? '结束录音并发送' : '录制语音'}
          aria-label={recording ? '结束录音并发送' : '录制语音'}
          onClick={() => void toggleRecording()}
        >
          {recording ? `⏹ ${formatDuration(recording.elapsed)}` : '🎤'}
        </button>
        <textarea
          value={text}
          rows={1}
          placeholder={connected ? '输入消息，Enter 发送' : '连接中断：消息将在恢复后发送'}
          aria-label="消息内容"
          data-testid="composer-input"
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <button
          type="button"
          className="btn btn-primary"
          data-testid="send-button"
          onClick={send}
          disabled={!text.trim()}
        >
          发送
        </button>
      </div>
    </div>
  );
}
