#!/usr/bin/env node
// Plain JavaScript on purpose: this file must run (and explain itself) on an old Node that cannot
// load the TypeScript sources, which Node 24 runs natively.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 24 || (major === 24 && minor < 11)) {
  console.error(
    `LaundryConnect Notify needs Node.js 24.11 or newer; this is Node ${process.versions.node}.\n` +
      'Run it through npm (npm start, npm test, npx laundryconnect-notify …), which uses the Node 24 that\n' +
      '`npm install` puts in node_modules/.bin. If you installed with --ignore-scripts, run `npm rebuild node`.',
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
