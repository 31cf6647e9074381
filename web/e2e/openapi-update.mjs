// Writes the OpenAPI document a running server serves to web/openapi.json
// (the source of the generated client). Usage: npm run openapi:update [-- URL]
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const base = process.argv[2] ?? process.env.TGDESK_URL ?? 'http://127.0.0.1:8080';
const doc = await (await fetch(`${base}/api/openapi.json`)).json();
writeFileSync(path.resolve(import.meta.dirname, '../openapi.json'), JSON.stringify(doc, null, 2) + '\n');
console.log(`web/openapi.json updated from ${base}`);
