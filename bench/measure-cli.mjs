// Runs the built CLI in this process and reports its peak RSS, so the benchmark measures the real
// `mlbom generate` (same code path as the bin) and its memory in one go.
import { main } from '../packages/cli/dist/main.js';

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: {} });
process.stderr.write(`${JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, code })}\n`);
process.exitCode = code;
