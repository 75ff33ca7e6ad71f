// `node ../../scripts/build.mjs src/main.ts` (from an app's folder): bundles the entry and the
// workspace code it imports (@conveyor/*, the generated Prisma client) into dist/<name>.js with a
// source map. npm packages stay external and load from node_modules at run time.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

class BuildError extends Error {
  name = 'BuildError';
}

const entries = process.argv.slice(2);
if (entries.length === 0) throw new BuildError('usage: build.mjs <entry.ts>…');
const outdir = resolve('dist');

/** The package a bare specifier names: `openai/resources` → `openai`, `@prisma/client/runtime` → `@prisma/client`. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The folder Node finds `name` in when it resolves it from a file in `fromDir`. */
function nodeModulesFolder(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * npm packages stay imports. A package the bundle's folder would not find (npm installed it in a
 * workspace's own node_modules) is imported by its file path relative to the bundle instead.
 */
const externalPackages = {
  name: 'external-packages',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('@conveyor/') || args.pluginData === 'external-packages') return undefined;
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      const name = packageName(args.path);
      const wanted = nodeModulesFolder(name, args.resolveDir);
      if (wanted === undefined || wanted === nodeModulesFolder(name, outdir)) return { path: args.path, external: true };
      const resolved = await builder.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'external-packages' });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      const path = relative(outdir, resolved.path).split(sep).join('/');
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};

/**
 * `new URL('./style.css', import.meta.url)` names a file next to its module; in the bundle it
 * names dist/assets/style.css, a copy.
 */
const assetUrls = {
  name: 'asset-urls',
  setup(builder) {
    const copied = new Map();
    builder.onLoad({ filter: /\.tsx?$/ }, (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const contents = source.replace(/new URL\((['"])(\.\/[^'"]+)\1, import\.meta\.url\)/g, (_, quote, path) => {
        const asset = resolve(dirname(args.path), path);
        if (!existsSync(asset) || !statSync(asset).isFile()) throw new BuildError(`${args.path}: ${path} is not a file`);
        const name = basename(asset);
        if (copied.has(name) && copied.get(name) !== asset) throw new BuildError(`two assets named ${name}: ${copied.get(name)} and ${asset}`);
        copied.set(name, asset);
        mkdirSync(join(outdir, 'assets'), { recursive: true });
        copyFileSync(asset, join(outdir, 'assets', name));
        return `new URL(${quote}./assets/${name}${quote}, import.meta.url)`;
      });
      return { contents, loader: args.path.endsWith('x') ? 'tsx' : 'ts' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
const started = performance.now();
await build({
  entryPoints: entries,
  outdir,
  entryNames: '[name]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Node's own resolution conditions (esbuild adds `module` by default).
  conditions: [],
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
  plugins: [externalPackages, assetUrls],
});
const outputs = entries.map((entry) => relative(process.cwd(), join(outdir, `${basename(entry).replace(/\.tsx?$/, '')}.js`)));
process.stdout.write(`built ${outputs.join(', ')} in ${Math.round(performance.now() - started)} ms\n`);
