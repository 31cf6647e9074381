// Tags on messages: the small chip that shows one, and the picker that sets
// a message's tags from the tenant's dictionary.
import { useEffect, useRef, useState } from 'react';
import type { Tag } from '../api/types';

/** A tag's chip, in the tag's colour when it has one. */
export function TagChip({ tag }: { tag: { id: string; name: string; color?: string | null } }) {
  return (
    <span
      className="chip tag-chip"
      data-testid="tag-chip"
      data-tag={tag.id}
      style={tag.color ? { background: tag.color, color: '#fff' } : undefined}
    >
      {tag.name}
    </span>
  );
}

/**
 * Ticks and unticks a message's tags. Each change is saved at once; changes
 * are sent one after another so a quick second tick cannot overtake the first.
 */
export function TagPicker({
  tags,
  chosen,
  onSave,
  onError,
  onClose,
}: {
  tags: readonly Tag[];
  chosen: readonly string[];
  onSave: (tags: string[]) => Promise<void>;
  onError: (message: string) => void;
  onClose: () => void;
}) {
  const [picked, setPicked] = useState<readonly string[]>(chosen);
  const box = useRef<HTMLDivElement>(null);
  const queue = useRef<Promise<void>>(Promise.resolve());

  useEffect(() => {
    const outside = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) onClose();
    };
    const escape = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('mousedown', outside);
    document.addEventListener('keydown', escape);
    return () => {
      document.removeEventListener('mousedown', outside);
      document.removeEventListener('keydown', escape);
    };
  }, [onClose]);

  function toggle(id: string) {
    const next = picked.includes(id) ? picked.filter((t) => t !== id) : [...picked, id];
    setPicked(next);
    queue.current = queue.current.then(() => onSave(next)).catch((e: Error) => onError(e.message));
  }

  return (
    <div className="tag-picker" ref={box} role="dialog" aria-label="Message tags" data-testid="tag-picker">
      <div className="muted" style={{ fontSize: 12 }}>
        Tags of this message
      </div>
      {tags.length === 0 && <div className="muted">No tags yet: a manager creates them under Tags.</div>}
      {tags.map((t) => (
        <label key={t.id} className="tag-option">
          <input type="checkbox" checked={picked.includes(t.id)} onChange={() => toggle(t.id)} />
          <TagChip tag={t} />
        </label>
      ))}
      <button className="btn small" onClick={onClose} style={{ alignSelf: 'flex-end' }}>
        Done
      </button>
    </div>
  );
}
