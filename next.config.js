import path from 'node:path';

/**
 * Next.js runs inside the Stagebook server (server/app.ts hands it every non-API request), so this
 * config only shapes the build. Next 16 no longer lints during `next build`; lint runs on its own.
 * Telemetry is turned off by NEXT_TELEMETRY_DISABLED in the environment, not here.
 *
 * @type {import('next').NextConfig}
 */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  typedRoutes: false,
  // `next build` would type-check the whole project (server, tests) again; `npm run typecheck` does
  // that in CI. Here it would only let a half-written test stop the server from building its UI.
  typescript: { ignoreBuildErrors: true },
  // Native binaries must be required at run time, never bundled.
  serverExternalPackages: ['onnxruntime-node'],
  turbopack: {
    root: path.resolve(import.meta.dirname),
    resolveAlias: {
      // y-monaco 0.1.6 imports this path, which monaco-editor >= 0.56's exports map no longer resolves
      // (it maps `./*.js` to `./esm/vs/*.js`). Point it at the same file `monaco-editor` re-exports, so
      // both see one Monaco instance.
      'monaco-editor/esm/vs/editor/editor.api.js': './node_modules/monaco-editor/esm/vs/editor/editor.api.js',
      // The same for monaco-yaml's worker, through monaco-worker-manager 2.0.1 (its `initialize`).
      'monaco-editor/esm/vs/editor/editor.worker.js': './node_modules/monaco-editor/esm/vs/editor/editor.worker.js',
    },
  },
  async redirects() {
    // Signed-out visitors then land on /sign-in: the app shell checks the session.
    return [
      { source: '/', destination: '/teams', permanent: false },
      // Browsers still ask for /favicon.ico on some pages; the icon is app/icon.svg.
      { source: '/favicon.ico', destination: '/icon.svg', permanent: true },
    ];
  },
};

export default nextConfig;
