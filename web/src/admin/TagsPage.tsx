// Tags of the tenant.
import { useEffect, useState } from 'react';
import { api, must } from '../api/client';
import type { Tag } from '../api/types';
import { DeletingNotice, useBackgroundDeletes } from '../ui/BackgroundDeletes';

export function TagsPage() {
  const [tags, setTags] = useState<Tag[]>([]);
  const [name, setName] = useState('');
  const [color, setColor] = useState('#2f7de1');
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const deletes = useBackgroundDeletes();

  useEffect(() => {
    must(api.GET('/api/tags'))
      .then((r) => setTags(r.items))
      .catch((e) => setError((e as Error).message));
  }, [round]);

  async function act(what: Promise<unknown>) {
    setError(null);
    try {
      await what;
      setRound((r) => r + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <div className="page">
      <h1>Tags</h1>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void act(must(api.POST('/api/tags', { body: { name, color } })).then(() => setName('')));
        }}
      >
        <input className="input" placeholder="New tag" value={name} onChange={(e) => setName(e.target.value)} required />
        <input type="color" value={color} onChange={(e) => setColor(e.target.value)} aria-label="Color" />
        <button className="btn primary">Create tag</button>
      </form>
      {error && <div className="error">{error}</div>}
      <DeletingNotice running={deletes.running} />
      <table className="grid" data-testid="tags-table">
        <thead>
          <tr>
            <th>Tag</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {tags.map((t) => (
            <tr key={t.id}>
              <td>
                <span className="chip" style={{ background: t.color ?? undefined, color: t.color ? '#fff' : undefined }}>
                  {t.name}
                </span>
              </td>
              <td style={{ textAlign: 'right' }}>
                <button className="btn small danger" onClick={() => void act(deletes.remove(api.DELETE('/api/tags/{id}', { params: { path: { id: t.id } } })))}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
