/* global process, console */
// Prints the mutation score per folder of src/ from Stryker's JSON report (reports/mutation/mutation.json),
// as `npm run mutate` ends. Detected = killed or timed out; the score is detected / (detected + survived + no coverage),
// Stryker's own definition, so the total matches its report.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'reports/mutation/mutation.json', 'utf8'));
const rows = new Map();
for (const [file, { mutants }] of Object.entries(report.files)) {
  const folder = file.replace(/^.*?src\//, 'src/').replace(/\/[^/]+$/, '/');
  const r = rows.get(folder) ?? { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0 };
  for (const m of mutants) {
    if (m.status === 'Killed') r.killed++;
    else if (m.status === 'Timeout') r.timeout++;
    else if (m.status === 'Survived') r.survived++;
    else if (m.status === 'NoCoverage') r.noCoverage++;
    else r.ignored++;
  }
  rows.set(folder, r);
}
const score = (r) => (100 * (r.killed + r.timeout)) / (r.killed + r.timeout + r.survived + r.noCoverage);
const total = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0 };
console.log('| folder | score % | killed | timed out | survived | no coverage |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [folder, r] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
  for (const k of Object.keys(total)) total[k] += r[k];
  console.log(`| ${folder} | ${score(r).toFixed(2)} | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} |`);
}
console.log(`| all | ${score(total).toFixed(2)} | ${total.killed} | ${total.timeout} | ${total.survived} | ${total.noCoverage} |`);
