// Test data: generated 1C exports written where the server reads them (ONEC_DATA_DIR).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DATA_DIR, SERVER_BIN } from '../../playwright.config.js';

/** Replaces the export with a generated one; returns gen-data's summary (the expected counts). */
export function generateExport({ products = 300, customers = 30, seed = 7 } = {}) {
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
  const out = execFileSync(SERVER_BIN, ['gen-data', '--products', String(products), '--customers',
    String(customers), '--seed', String(seed), '--out', DATA_DIR], { encoding: 'utf8' });
  return JSON.parse(out);
}

/** Cuts the first goods segment in the middle, as a transfer that broke off would. */
export function breakGoods() {
  const dir = path.join(DATA_DIR, 'goods');
  const file = fs.readdirSync(dir).filter((f) => f.endsWith('.xml')).sort()[0];
  const full = path.join(dir, file);
  const bytes = fs.readFileSync(full);
  fs.writeFileSync(full, bytes.subarray(0, Math.floor(bytes.length / 2)));
  return `goods/${file}`;
}

/** Removes one kind's folder from the export. */
export function removeKind(folder) {
  fs.rmSync(path.join(DATA_DIR, folder), { recursive: true, force: true });
}

/** `n` grouped the Russian way, as the app prints counts: 1 234. */
export function ru(n) {
  return n.toLocaleString('ru-RU').replace(/\s/g, '\u00a0');
}
