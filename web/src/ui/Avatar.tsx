import { avatarColor, initials } from './format';

export function Avatar({ seed, title, src, className }: { seed: number | string; title: string; src?: string | null; className?: string }) {
  return (
    <div className={`avatar ${className ?? ''}`} style={{ background: avatarColor(seed) }} aria-hidden>
      {src ? <img src={src} alt="" /> : initials(title)}
    </div>
  );
}
