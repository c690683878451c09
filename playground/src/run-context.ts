import { createContext, useContext } from 'react';
import type { ViewerInfo } from './gateway-client';
import type { RunReport } from './run-report';

export interface RunContextValue {
  readonly viewer: ViewerInfo;
  readonly lastRun: RunReport | null;
}

/** Shared with GraphiQL's plugin panels, which render inside GraphiQL's own tree. */
export const RunContext = createContext<RunContextValue | null>(null);

export function useRunContext(): RunContextValue {
  const v = useContext(RunContext);
  if (!v) throw new Error('RunContext is missing');
  return v;
}
