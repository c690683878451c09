import { runCostCli } from './cost';

/** Entry of the self-contained bundle (dist/analytics-gateway-cost.cjs, see tools/build-cost-cli.ts). */
process.exitCode = runCostCli(process.argv.slice(2));
