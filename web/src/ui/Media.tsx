// A message's file: images inline, other files as a chip that opens them;
// fetched from the media endpoint the first time they scroll into view.
import { useEffect, useRef, useState } from 'react';
import { blobUrl } from '../api/client';
import type { Message } from '../api/types';
import { bytes } from './format';

export function Media({ message }: { message: Message }) {
  const media = message.media!;
  const isImage = media.kind === 'photo' || (media.mime ?? '').startsWith('image/');
  const path = `/api/accounts/${encodeURIComponent(message.account_id)}/dialogs/${message.peer}/messages/${message.id}/media`;
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!isImage || !box.current) return;
    let revoke: string | null = null;
    const seen = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      seen.disconnect();
      blobUrl(path)
        .then((u) => {
          revoke = u;
          setUrl(u);
        })
        .catch((e) => setError((e as Error).message));
    });
    seen.observe(box.current);
    return () => {
      seen.disconnect();
      if (revoke) URL.revokeObjectURL(revoke);
    };
  }, [isImage, path]);

  async function openFile() {
    try {
      const u = await blobUrl(path);
      const a = document.createElement('a');
      a.href = u;
      a.download = media.name ?? 'file';
      a.click();
      setTimeout(() => URL.revokeObjectURL(u), 10_000);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  if (isImage) {
    return (
      <div ref={box} style={{ minHeight: url ? undefined : 120, minWidth: 160 }}>
        {url ? <img className="media-img" src={url} alt={media.name ?? 'photo'} data-testid="media-img" /> : null}
        {!url && !error && <div className="muted">Loading photo…</div>}
        {error && <div className="status-failed">{error}</div>}
      </div>
    );
  }
  return (
    <div className="file">
      <span>📎</span>
      <span className="ellipsis" style={{ flex: 1 }}>
        {media.name ?? media.kind} <span className="muted">{bytes(media.size)}</span>
      </span>
      <button className="btn small" onClick={openFile}>
        Open
      </button>
      {error && <span className="status-failed">{error}</span>}
    </div>
  );
}
