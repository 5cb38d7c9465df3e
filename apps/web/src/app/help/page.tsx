import type { Metadata } from 'next';

export const metadata: Metadata = { title: '帮助' };

/** A static page: no WebSocket. */
export default function HelpPage() {
  return (
    <section className="card narrow" aria-labelledby="help-title">
      <h1 id="help-title">帮助</h1>
      <h2>如何开始咨询？</h2>
      <p>
        登录后进入“咨询”，选择左侧的会话，或点击“发起咨询”，选择顾问（或任意顾问）和主题。顾问与医生会在会话中回复您。
      </p>
      <h2>可以发送哪些内容？</h2>
      <ul>
        <li>文字消息：按 Enter 发送，Shift+Enter 换行。</li>
        <li>图片（PNG、JPEG、GIF、WebP）与文档（PDF、TXT、Word、Excel、ZIP），单个文件不超过 10 MB。</li>
        <li>语音：点击 🎤 开始录音，再次点击 ⏹ 结束并发送。</li>
      </ul>
      <h2>消息状态</h2>
      <ul>
        <li>发送中：消息正在发往服务器（断网时会排队，恢复后自动发送）。</li>
        <li>已发送：服务器已保存。</li>
        <li>已送达：对方当前在线，已实时收到。</li>
        <li>已读：对方已阅读。</li>
      </ul>
      <p className="muted">本页面不需要实时连接，因此不会建立 WebSocket。</p>
    </section>
  );
}
