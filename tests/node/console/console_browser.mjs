// Drives the web console in headless Chromium (Debian's, through playwright-core) the way an
// analyst and an auditor would, for tests/node/console/console_browser_test.cc, which sets up
// the mesh and checks what this prints: one JSON object of what the pages showed.
// Screenshots go to $SHOTS. Every wait is bounded.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`);
  return process.env[name];
};
const base = `${env('CONSOLE_URL')}/console/`;
const tokens = {
  admin: env('ADMIN_TOKEN'),
  read: env('READ_TOKEN'),
  wrong: 'not-a-token-of-this-node',
};
const shots = env('SHOTS');
const require = createRequire(path.join(env('WEB_DIR'), 'package.json'));
const { chromium } = require('playwright-core');

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  timeout: 60000,
});
const out = { errors: [] };
try {
  const page = await browser.newPage({
    viewport: { width: 1400, height: 900 },
  });
  page.setDefaultTimeout(20000);
  const requests = [];
  page.on('request', (r) => requests.push({ url: r.url(), auth: r.headers().authorization ?? '' }));
  page.on('pageerror', (e) => out.errors.push(String(e)));
  // Chromium logs every 401 and 403 as a console error: those are expected here.
  page.on(
    'console',
    (m) =>
      m.type() === 'error' &&
      !m.text().startsWith('Failed to load resource') &&
      out.errors.push(m.text()),
  );
  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const login = async (token) => {
    await page.fill('#token', token);
    await page.click('#login button[type=submit]');
  };
  const loggedIn = (name) =>
    page.waitForFunction((n) => document.querySelector('#nav .who')?.textContent.includes(n), name);

  // A wrong token: the login page again, saying why.
  await page.goto(base);
  await login(tokens.wrong);
  await page.waitForSelector('#login-error');
  out.wrongToken = {
    message: await page.textContent('#login-error'),
    loginShown: await page.isVisible('#token'),
  };
  await shot('login-refused');

  // A read token: search, then the record that crossed two hops.
  await login(tokens.read);
  await loggedIn('console-read');
  await page.waitForSelector('#search');
  await page.selectOption('#query-kind', 'domain-suffix');
  await page.fill('#query-value', env('SEARCH_DOMAIN'));
  await page.click('#search button[type=submit]');
  await page.waitForSelector('#records tbody tr');
  out.search = {
    ids: await page.$$eval('#records tbody tr', (rows) => rows.map((r) => r.dataset.id)),
  };
  await shot('search');
  await page.click(`#records tbody tr[data-id="${env('RECORD_ID')}"] a`);
  await page.waitForSelector('#custody svg');
  out.record = await graphFacts(page);
  out.record.fields = await page.$$eval('#fields tr', (rows) => rows.map((r) => r.textContent));
  out.record.payload = await page.textContent('#payload');
  out.record.images = await page.$$eval('#main img', (imgs) => imgs.length);
  out.record.title = await page.title();
  await shot('record');

  // A record its author retracted: marked on the graph and in the verdict.
  await page.goto(`${base}#/record/${env('RETRACTED_ID')}`);
  await page.waitForSelector('#custody svg g.node.mark');
  out.retracted = {
    marks: await page.$$eval('svg.custody g.node.mark', (ns) => ns.map((n) => n.dataset.mark)),
    withdrawn: await page.textContent('#verdict .withdrawn'),
    status: await page.textContent('#fields'),
  };
  await shot('retracted');

  // The read token may not see the peers: the page says so.
  await page.goto(`${base}#/peers`);
  await page.waitForSelector('.error');
  out.readPeers = await page.textContent('.error');

  // An admin token: the violation, the peers and the mesh, the audit trail.
  await page.click('#logout');
  await login(tokens.admin);
  await loggedIn('console-admin');
  await page.goto(`${base}#/violations`);
  await page.waitForSelector('#violations tbody tr');
  out.violations = await page.$$eval('#violations tbody tr', (rows) =>
    rows.map((r) => r.textContent),
  );
  await page.click(`#violations a[href="#/violation/${env('VIOLATION_ID')}"]`);
  await page.waitForSelector('#custody svg');
  out.violation = await graphFacts(page);
  out.violation.breachText = await page.$$eval('#verdict .breach', (ps) =>
    ps.map((p) => p.textContent),
  );
  out.violation.breachEdgeText = await page.$$eval('svg.custody g.edge.breach text', (ts) =>
    ts.map((t) => t.textContent),
  );
  await shot('violation');
  await page.goto(`${base}#/peers`);
  await page.waitForSelector('#mesh svg');
  out.peers = {
    meshNodes: await page.$$eval('svg.mesh g.node', (ns) => ns.map((n) => n.textContent)),
    rows: await page.$$eval('#peers tbody tr', (rows) => rows.map((r) => r.textContent)),
  };
  await shot('peers');
  await page.goto(`${base}#/audit?who=console-read`);
  await page.waitForSelector('#audit');
  out.audit = await page.$$eval('#audit tbody tr', (rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent)),
  );
  await shot('audit');

  // The offline page: bundles dropped on it, verified in the browser.
  out.offline = {};
  for (const [name, file] of [
    ['valid', env('BUNDLE_VALID')],
    ['tampered', env('BUNDLE_TAMPERED')],
  ]) {
    await page.goto(`${base}#/offline`);
    await page.waitForSelector('#drop-zone');
    const dataTransfer = await page.evaluateHandle(
      ({ text, fileName }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], fileName, { type: 'application/json' }));
        return dt;
      },
      { text: readFileSync(file, 'utf8'), fileName: path.basename(file) },
    );
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer });
    await page.waitForSelector('#offline-result #verdict');
    out.offline[name] = {
      verdict: await page.getAttribute('#offline-result #verdict', 'data-verdict'),
      text: await page.textContent('#offline-result #verdict'),
      graphNodes: await page.$$eval('#offline-result svg.custody g.node', (ns) => ns.length),
    };
    await shot(`offline-${name}`);
  }

  out.tokenInUrl = requests
    .filter((r) => Object.values(tokens).some((t) => r.url.includes(t)))
    .map((r) => r.url);
  out.apiRequests = requests.filter((r) => r.url.includes('/console/api/')).length;
  out.apiWithoutBearer = requests
    .filter((r) => r.url.includes('/console/api/') && !r.auth.startsWith('Bearer '))
    .map((r) => r.url);
} catch (e) {
  out.errors.push(`the script stopped: ${e.stack ?? e}`);
  for (const p of browser.contexts().flatMap((c) => c.pages())) {
    await p.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));

// What the custody graph on the page shows.
async function graphFacts(page) {
  return {
    verdict: await page.getAttribute('#verdict', 'data-verdict'),
    nodes: await page.$$eval('svg.custody g.node', (ns) =>
      ns.map((n) => n.dataset.key ?? n.dataset.mark),
    ),
    signedHops: await page.$$eval('svg.custody g.edge[data-verified="true"]', (es) => es.length),
    breachEdges: await page.$$eval('svg.custody g.edge[data-breach="true"]', (es) => es.length),
  };
}
