/**
 * The fixed world the synthetic traffic is drawn from: models with prices and latency
 * profiles, organisations, project kinds, prompt templates. Prices are USD per 1k tokens and
 * must fit numeric(12, 6).
 */

export type Operation = 'chat' | 'completion' | 'embedding' | 'tool_call';

export interface ModelProfile {
  provider: string;
  model: string;
  promptPer1k: number;
  completionPer1k: number;
  /** 0 where the provider offers no prompt caching discount; such models never report cached tokens. */
  cachedPer1k: number;
  /** Median latency of a successful chat call and its log-space spread. */
  medianMs: number;
  sigma: number;
  /** Scales completion length: reasoning models write (and bill) far more tokens. */
  completionScale: number;
  /** Mean LLM-judge score; drives helpfulness, correctness and feedback. */
  quality: number;
  /** Probability that a call fails (before the operation mix is applied). */
  errorRate: number;
  embedding: boolean;
}

/**
 * Ordered by popularity: rank k among the generative models gets weight 1/k^1.1. The
 * embedding model is chosen by operation instead, so it sits outside the Zipf ranking.
 */
export const MODELS: readonly ModelProfile[] = [
  m('openai', 'gpt-4o-mini', 0.00015, 0.0006, 0.000075, 900, 0.55, 1, 0.74, 0.015),
  m('openai', 'gpt-4o', 0.0025, 0.01, 0.00125, 1800, 0.55, 1, 0.86, 0.018),
  m('anthropic', 'claude-sonnet-4', 0.003, 0.015, 0.0003, 2600, 0.5, 1.1, 0.9, 0.02),
  m('google', 'gemini-2.0-flash', 0.0001, 0.0004, 0.000025, 650, 0.5, 0.9, 0.72, 0.016),
  m('anthropic', 'claude-haiku-3.5', 0.0008, 0.004, 0.00008, 1100, 0.5, 0.9, 0.78, 0.017),
  m('openai', 'o3-mini', 0.0011, 0.0044, 0.00055, 6500, 0.65, 3, 0.88, 0.025),
  m('together', 'llama-3.1-70b', 0.00088, 0.00088, 0, 1500, 0.6, 1, 0.76, 0.028),
  m('mistral', 'mistral-small', 0.0002, 0.0006, 0, 800, 0.5, 0.9, 0.7, 0.02),
  m('google', 'gemini-1.5-pro', 0.00125, 0.005, 0.000313, 2200, 0.55, 1, 0.84, 0.018),
  m('mistral', 'mistral-large', 0.002, 0.006, 0, 2000, 0.5, 1, 0.82, 0.02),
  m('together', 'llama-3.1-8b', 0.00018, 0.00018, 0, 500, 0.6, 0.8, 0.62, 0.03),
];

export const EMBEDDING_MODEL: ModelProfile = {
  ...m('openai', 'text-embedding-3-small', 0.00002, 0, 0, 140, 0.4, 0, 0.8, 0.008),
  embedding: true,
};

export const ALL_MODELS: readonly ModelProfile[] = [...MODELS, EMBEDDING_MODEL];

export const MODEL_POPULARITY_S = 1.1;

function m(
  provider: string,
  model: string,
  promptPer1k: number,
  completionPer1k: number,
  cachedPer1k: number,
  medianMs: number,
  sigma: number,
  completionScale: number,
  quality: number,
  errorRate: number,
): ModelProfile {
  return { provider, model, promptPer1k, completionPer1k, cachedPer1k, medianMs, sigma, completionScale, quality, errorRate, embedding: false };
}

/** Share of rows per operation for a top-level call (multi-span children are drawn separately). */
export const OPERATION_MIX: ReadonlyArray<readonly [Operation, number]> = [
  ['chat', 0.74],
  ['completion', 0.08],
  ['embedding', 0.1],
  ['tool_call', 0.08],
];

/** Latency relative to the model's chat median: tool-call turns are short structured outputs. */
export const OPERATION_LATENCY_FACTOR: Record<Operation, number> = {
  chat: 1,
  completion: 0.8,
  embedding: 1,
  tool_call: 0.6,
};

export const ENVIRONMENT_MIX: ReadonlyArray<readonly [string, number]> = [
  ['production', 0.86],
  ['staging', 0.09],
  ['development', 0.05],
];

export interface ErrorKind {
  errorType: string;
  statusCode: number;
  weight: number;
}

export const ERROR_KINDS: readonly ErrorKind[] = [
  { errorType: 'rate_limit', statusCode: 429, weight: 0.45 },
  { errorType: 'server_error', statusCode: 500, weight: 0.15 },
  { errorType: 'server_error', statusCode: 503, weight: 0.1 },
  { errorType: 'timeout', statusCode: 504, weight: 0.12 },
  { errorType: 'invalid_request', statusCode: 400, weight: 0.18 },
];

export const ORG_CATALOG: ReadonlyArray<readonly [slug: string, name: string, region: string]> = [
  ['acme', 'Acme Corporation', 'us-east-1'],
  ['globex', 'Globex Industries', 'eu-west-1'],
  ['initech', 'Initech', 'us-west-2'],
  ['umbrella', 'Umbrella Health', 'eu-central-1'],
  ['hooli', 'Hooli', 'us-west-2'],
  ['stark', 'Stark Analytics', 'us-east-1'],
  ['wayne', 'Wayne Logistics', 'us-east-2'],
  ['wonka', 'Wonka Foods', 'eu-west-2'],
  ['tyrell', 'Tyrell Systems', 'ap-northeast-1'],
  ['soylent', 'Soylent Nutrition', 'ap-southeast-1'],
  ['cyberdyne', 'Cyberdyne Robotics', 'us-west-1'],
  ['vandelay', 'Vandelay Imports', 'eu-west-1'],
];

export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'ap-northeast-1'];

export interface ProjectKind {
  slug: string;
  label: string;
  features: readonly string[];
  /** Multiplier on the chance that a call is an agent flow with child spans. */
  agentFactor: number;
  /** Extra share of embedding calls on top of OPERATION_MIX (retrieval-heavy products). */
  extraEmbedding: number;
  tags: readonly string[];
}

export const PROJECT_KINDS: readonly ProjectKind[] = [
  { slug: 'chatbot', label: 'Chatbot', features: ['chat', 'onboarding', 'faq'], agentFactor: 0.6, extraEmbedding: 0, tags: ['streaming'] },
  { slug: 'search', label: 'Semantic Search', features: ['search', 'autocomplete'], agentFactor: 0.4, extraEmbedding: 0.15, tags: ['rag'] },
  { slug: 'support', label: 'Support Copilot', features: ['ticket-triage', 'reply-draft', 'search'], agentFactor: 1.2, extraEmbedding: 0.05, tags: ['rag'] },
  { slug: 'codegen', label: 'Code Assistant', features: ['completion', 'review', 'refactor'], agentFactor: 0.8, extraEmbedding: 0, tags: ['ide'] },
  { slug: 'agents', label: 'Ops Agents', features: ['planner', 'runbook', 'incident'], agentFactor: 2.5, extraEmbedding: 0.02, tags: ['agent'] },
  { slug: 'summarizer', label: 'Doc Summarizer', features: ['summarize', 'extract'], agentFactor: 0.3, extraEmbedding: 0.05, tags: ['batch'] },
];

export const TOPICS = [
  'quarterly revenue', 'refund policy', 'kubernetes upgrade', 'invoice disputes', 'supply chain delays',
  'password reset', 'gdpr compliance', 'marketing campaign', 'churn analysis', 'onboarding checklist',
  'incident postmortem', 'pricing tiers', 'shipping times', 'api rate limits', 'database migration',
  'sales forecast', 'employee handbook', 'security audit', 'product roadmap', 'customer survey',
  'latency regression', 'holiday schedule', 'travel expenses', 'contract renewal', 'warehouse inventory',
  'mobile app crash', 'tax filing', 'board meeting', 'hiring plan', 'carbon footprint',
  'loyalty program', 'fraud detection', 'vendor onboarding', 'release notes', 'data retention',
  'sso integration', 'cloud costs', 'return labels', 'feature flags', 'support backlog',
];

/** (prompt, answer) templates per operation; {topic} gives text search something to find. */
export const EXCHANGES: Record<Operation, ReadonlyArray<readonly [prompt: string, output: string | null]>> = {
  chat: [
    ['Summarize the quarterly report about {topic}', 'Summary of {topic}: revenue is up 4%, two risks remain open.'],
    ['What is our policy on {topic}?', 'Our policy on {topic} allows exceptions with manager approval.'],
    ['Draft a friendly reply to a customer asking about {topic}', 'Hi! Thanks for reaching out about {topic}. Here is what you need to know.'],
    ['Explain {topic} to a new team member in three bullet points', '- What {topic} is\n- Who owns it\n- Where to find the runbook'],
    ['Compare the two proposals regarding {topic}', 'Proposal A on {topic} is cheaper; proposal B ships two weeks sooner.'],
    ['List the open risks related to {topic}', 'Open risks for {topic}: staffing, vendor lock-in, unclear deadline.'],
  ],
  completion: [
    ['Continue the paragraph: The main issue with {topic} is', '...that nobody owns {topic} end to end.'],
    ['Complete the function that validates {topic} records', 'return records.every((r) => r.id && r.updatedAt);'],
    ['Write a subject line for an email about {topic}', 'Update: next steps on {topic}'],
  ],
  embedding: [
    ['Embed document chunk about {topic}', null],
    ['Embed search query: {topic}', null],
  ],
  tool_call: [
    ['Find internal docs about {topic}', '{"tool":"search_docs","arguments":{"query":"{topic}"}}'],
    ['Open a ticket for {topic}', '{"tool":"create_ticket","arguments":{"summary":"{topic}","priority":"p2"}}'],
    ['Check the account status for {topic}', '{"tool":"lookup_account","arguments":{"topic":"{topic}"}}'],
  ],
};

export const FEEDBACK_COMMENTS = {
  up: ['Great answer', 'Exactly what I needed', 'Saved me time', null, null, null],
  down: ['Wrong dates', 'Too long', 'Did not answer the question', 'Hallucinated a policy', null, null],
} as const;

export const EXTRA_TAGS = ['beta', 'experiment-a', 'experiment-b', 'eval'];
