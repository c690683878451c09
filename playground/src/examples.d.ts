declare module 'playground:examples' {
  const tabs: readonly { title: string; file: string; description: string; query: string; variables: string }[];
  export default tabs;
}
declare const __PLAYGROUND_WORKERS__: Record<'editor' | 'json' | 'graphql', string>;
