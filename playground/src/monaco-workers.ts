/*
 * Monaco's language services run in web workers. They are files of this bundle, served by the
 * gateway under /playground/assets (CSP worker-src 'self'); GraphiQL's own setups load them from
 * a CDN (esm.sh) or need webpack/vite, neither of which fits a self-contained gateway.
 */
(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    const url = label === 'json' ? __PLAYGROUND_WORKERS__.json : label === 'graphql' ? __PLAYGROUND_WORKERS__.graphql : __PLAYGROUND_WORKERS__.editor;
    return new Worker(url, { name: `monaco-${label}` });
  },
};
