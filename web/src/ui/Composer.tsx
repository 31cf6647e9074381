// The composer: Enter sends, Shift+Enter starts a new line, Esc drops the
// reply or edit (or leaves the dialog); files upload as they are attached.
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { api, must, uploadFile } from '../api/client';
import type { Message } from '../api/types';
import type { Desk } from '../state/desk';
import { Icon } from './Icon';

export type Draft = { mode: 'new' } | { mode: 'reply'; to: Message } | { mode: 'edit'; message: Message };

interface Attached {
  id: string;
  name: string;
}

export function Composer({
  desk,
  draft,
  onDraft,
  onError,
}: {
  desk: Desk;
  draft: Draft;
  onDraft: (d: Draft) => void;
  onError: (m: string) => void;
}) {
  const [text, setText] = useState('');
  const [files, setFiles] = useState<Attached[]>([]);
  const [uploading, setUploading] = useState(0);
  const [busy, setBusy] = useState(false);
  const box = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);

  // Replying or editing moves the focus here; opening a dialog leaves it in the inbox (↑/↓ keep working).
  useEffect(() => {
    if (draft.mode === 'edit') setText(draft.message.text);
    if (draft.mode !== 'new') box.current?.focus();
  }, [draft]);

  async function attach(list: FileList | null) {
    for (const file of Array.from(list ?? [])) {
      setUploading((n) => n + 1);
      try {
        const ref = await uploadFile(file);
        setFiles((f) => [...f, { id: ref.id, name: file.name }]);
      } catch (e) {
        onError(`${file.name}: ${(e as Error).message}`);
      } finally {
        setUploading((n) => n - 1);
      }
    }
  }

  async function submit() {
    const body = text.trim();
    if (busy || uploading > 0 || (!body && files.length === 0)) return;
    setBusy(true);
    try {
      const d = desk.get().dialog!;
      if (draft.mode === 'edit') {
        await must(
          api.PATCH('/api/accounts/{id}/dialogs/{peer}/messages/{message}', {
            params: { path: { id: d.account_id, peer: d.peer, message: draft.message.id } },
            body: { text: body },
          }),
        );
      } else {
        await desk.send(body, files.map((f) => f.id), draft.mode === 'reply' ? draft.to.id : null);
      }
      setText('');
      setFiles([]);
      onDraft({ mode: 'new' });
    } catch (e) {
      onError((e as Error).message);
    } finally {
      setBusy(false);
      box.current?.focus();
    }
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      if (draft.mode !== 'new') {
        if (draft.mode === 'edit') setText('');
        onDraft({ mode: 'new' });
      } else {
        desk.closeDialog();
        document.querySelector<HTMLElement>('[data-testid="inbox-list"]')?.focus();
      }
    }
  }

  return (
    <div className="composer">
      {draft.mode !== 'new' && (
        <div className="quote ellipsis" style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
          <span className="ellipsis" style={{ flex: 1 }}>
            {draft.mode === 'reply' ? `Replying to: ${draft.to.text || '(file)'}` : 'Editing your message'}
          </span>
          <button className="btn small ghost" onClick={() => onDraft({ mode: 'new' })}>
            ✕
          </button>
        </div>
      )}
      {(files.length > 0 || uploading > 0) && (
        <div className="chips">
          {files.map((f) => (
            <span className="chip" key={f.id} data-testid="attached">
              <span className="ellipsis">📎 {f.name}</span>
              <button className="btn small ghost" onClick={() => setFiles(files.filter((x) => x.id !== f.id))}>
                ✕
              </button>
            </span>
          ))}
          {uploading > 0 && <span className="chip">Uploading…</span>}
        </div>
      )}
      <div className="row">
        <input ref={picker} type="file" multiple hidden data-testid="file-input" onChange={(e) => void attach(e.target.files)} />
        <button className="btn" title="Attach files" onClick={() => picker.current?.click()} disabled={draft.mode === 'edit'}>
          <Icon name="clip" size={18} />
        </button>
        <textarea
          ref={box}
          className="input"
          rows={Math.min(6, text.split('\n').length)}
          placeholder="Write a message… (Enter sends, Shift+Enter new line)"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKey}
          data-testid="composer"
        />
        <button className="btn primary" onClick={() => void submit()} disabled={busy || uploading > 0}>
          {draft.mode === 'edit' ? 'Save' : 'Send'}
        </button>
      </div>
    </div>
  );
}
