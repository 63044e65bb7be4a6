import { readFileSync } from 'node:fs';
import { RelayError } from '../../common/errors/relay-error.js';

/** A static file of the dashboard, ready to send. */
export interface DashboardAsset {
  type: string;
  data: Buffer;
}

// The page is plain HTML, CSS and browser JavaScript kept in assets/dashboard/ at the package
// root: no bundler, nothing generated. src/admin/dashboard and dist/admin/dashboard are both
// three levels below the root, so one relative URL serves tsx and the built package alike.
const assetDir = new URL('../../../assets/dashboard/', import.meta.url);

const files: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Reads the dashboard's files once (at start): URL path → asset. */
export function loadDashboardAssets(): Map<string, DashboardAsset> {
  const assets = new Map<string, DashboardAsset>();
  for (const [path, { file, type }] of Object.entries(files)) {
    try {
      assets.set(path, { type, data: readFileSync(new URL(file, assetDir)) });
    } catch (err) {
      throw new RelayError('ADMIN_ASSETS_MISSING', `dashboard file ${file} is missing`, {
        cause: err,
      });
    }
  }
  return assets;
}
