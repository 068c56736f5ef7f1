// Builds src/module.ts into dist/module.js, the AMD module Grafana loads, and copies the
// plugin's static files beside it. A create-plugin style layout, kept small and owned here.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import CopyWebpackPlugin from 'copy-webpack-plugin';

const root = path.dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const pluginJson = JSON.parse(fs.readFileSync(path.join(root, 'src/plugin.json'), 'utf8'));

// SOURCE_DATE_EPOCH makes the "updated" date reproducible.
const today = (
  process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date()
)
  .toISOString()
  .slice(0, 10);

// Modules Grafana shares with plugins at run time (SystemJS). Never bundle them.
const externals = [
  // Required for dynamic publicPath resolution.
  { 'amd-module': 'module' },
  'lodash',
  'jquery',
  'moment',
  'slate',
  'emotion',
  '@emotion/react',
  '@emotion/css',
  'prismjs',
  'slate-plain-serializer',
  '@grafana/slate-react',
  'react',
  'react-dom',
  'react-redux',
  'redux',
  'rxjs',
  'rxjs/operators',
  'i18next',
  'react-router',
  'd3',
  'angular',
  /^@grafana\/ui/i,
  /^@grafana\/runtime/i,
  /^@grafana\/data/i,
];

/**
 * The JSX is compiled to React.createElement (classic runtime) on purpose: Grafana shares
 * react/jsx-runtime with plugins only since 11.6.11 / 12.0.10 / 12.1.7 / 12.2.5 / 12.3, and a
 * bundled React 18 jsx-runtime breaks under Grafana 13's React 19. Without it the bundle loads
 * on every Grafana from 11.0 on. This check keeps it out.
 */
class NoBundledJsxRuntime {
  apply(compiler) {
    compiler.hooks.afterCompile.tap('NoBundledJsxRuntime', (compilation) => {
      for (const m of compilation.modules) {
        const r = m.resource || m.request || '';
        if (/react[\\/]jsx-(dev-)?runtime/.test(r) || /^react\/jsx-(dev-)?runtime$/.test(m.userRequest || '')) {
          compilation.errors.push(
            new Error(`react/jsx-runtime would be bundled (from ${r}); use the classic JSX runtime`)
          );
        }
      }
    });
  }
}

export default (_env, argv) => {
  const production = argv.mode !== 'development';
  return {
    mode: production ? 'production' : 'development',
    context: root,
    entry: { module: './src/module.ts' },
    target: 'web',
    devtool: production ? 'source-map' : 'eval-source-map',
    externals,
    resolve: {
      extensions: ['.ts', '.tsx', '.js', '.jsx', '.json'],
    },
    module: {
      rules: [
        {
          test: /\.[tj]sx?$/,
          exclude: /node_modules/,
          use: {
            loader: 'swc-loader',
            options: {
              jsc: {
                target: 'es2020',
                parser: { syntax: 'typescript', tsx: true, decorators: false, dynamicImport: true },
                transform: { react: { runtime: 'classic', pragma: 'React.createElement' } },
              },
            },
          },
        },
      ],
    },
    output: {
      path: path.join(root, 'dist'),
      filename: '[name].js',
      library: { type: 'amd' },
      publicPath: `public/plugins/${pluginJson.id}/`,
      uniqueName: pluginJson.id,
      // The Go build writes the backend executables into dist/ too: keep them.
      clean: { keep: /(^|[\\/])(gpx_.*|go_plugin_build_manifest)$/ },
    },
    plugins: [
      new NoBundledJsxRuntime(),
      new CopyWebpackPlugin({
        patterns: [
          {
            from: 'src/plugin.json',
            to: '.',
            transform: (content) =>
              content.toString().replace(/%VERSION%/g, pkg.version).replace(/%TODAY%/g, today),
          },
          { from: 'src/img', to: 'img' },
          { from: 'README.md', to: '.' },
          { from: 'CHANGELOG.md', to: '.', noErrorOnMissing: true },
          { from: '../LICENSE', to: '.', noErrorOnMissing: true },
        ],
      }),
    ],
    performance: { hints: false },
    stats: production ? 'normal' : 'minimal',
  };
};
