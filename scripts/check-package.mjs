// Packs the package and checks it as a consumer would. publint and @arethetypeswrong/cli check the
// tarball. Then the tarball is installed into a scratch ESM project and a scratch CommonJS project;
// each imports both entry points and watches one run on the simulator. Needs `npm run build` first and
// the npm registry for rxjs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const run = (command, args, options = {}) => execFileSync(command, args, { stdio: 'inherit', ...options });
const scratch = mkdtempSync(join(tmpdir(), 'runflow-rx-pack-'));

try {
  const tarball = resolve(
    scratch,
    execFileSync('npm', ['pack', '--silent', '--pack-destination', scratch]).toString().trim(),
  );
  run('npx', ['publint', '--strict', tarball]);
  run('npx', ['attw', tarball, '--profile', 'node16']);

  const consumer = `
    const events = [];
    const simulator = await startSimulator({ timeScale: 50 });
    try {
      const client = createRunflowClient({ apiKey: simulator.apiKey, baseUrl: simulator.url, poll: { intervalMs: 5 } });
      await new Promise((done, fail) => client.run('openai/gpt-image-1.5', { input: { prompt: 'x' } })
        .subscribe({ next: (event) => events.push(event.type === 'status' ? event.status : event.type), complete: done, error: fail }));
    } finally {
      await simulator.close();
    }
    if (events.at(-1) !== 'succeeded') throw new Error('unexpected events: ' + events.join(' '));
    console.log(KIND + ' consumer ok: ' + events.filter((event) => event !== 'log').join(' '));
  `;
  const projects = {
    esm: {
      'package.json': { name: 'scratch-esm', private: true, type: 'module' },
      file: 'index.js',
      source: `import { createRunflowClient } from 'runflow-rx';\nimport { startSimulator } from 'runflow-rx/testing';\nconst KIND = 'ESM';\n${consumer}`,
    },
    cjs: {
      'package.json': { name: 'scratch-cjs', private: true, type: 'commonjs' },
      file: 'index.js',
      source: `const { createRunflowClient } = require('runflow-rx');\nconst { startSimulator } = require('runflow-rx/testing');\nconst KIND = 'CommonJS';\n(async () => {${consumer}})().catch((error) => { console.error(error); process.exitCode = 1; });`,
    },
  };
  for (const [kind, project] of Object.entries(projects)) {
    const dir = join(scratch, kind);
    run('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'package.json'), JSON.stringify(project['package.json']));
    writeFileSync(join(dir, project.file), project.source);
    run('npm', ['install', '--no-audit', '--no-fund', '--silent', tarball, 'rxjs@7'], { cwd: dir });
    run('node', [project.file], { cwd: dir });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
