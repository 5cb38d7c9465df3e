import type { Metadata } from 'next';
import Link from 'next/link';

export const metadata: Metadata = { title: '页面不存在' };

/** Every unknown path (Next's own 404 is in English). */
export default function NotFound() {
  return (
    <section className="card not-found" aria-labelledby="not-found-title">
      <h1 id="not-found-title">页面不存在</h1>
      <p className="muted">您访问的页面不存在或已被移动，请检查地址是否正确。</p>
      <Link href="/" className="btn btn-primary">
        返回首页
      </Link>
    </section>
  );
}
